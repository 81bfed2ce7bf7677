"""``me``, ``login``, ``logout`` and the User type."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType, QueryType
from graphql import GraphQLResolveInfo

from archivist.core import users
from archivist.core.db import run_db
from archivist.core.errors import UserFacingError
from archivist.core.models import Node, User
from archivist.core.nodes import special_folder
from archivist.graphql.context import Context, require_viewer
from archivist.graphql.payloads import ok, user_errors

query = QueryType()
mutation = MutationType()
user_type = ObjectType("User")


@query.field("me")
async def resolve_me(_: Any, info: GraphQLResolveInfo) -> User:
    viewer = require_viewer(info)
    user: User = await run_db(User.get_by_id, viewer.id)
    return user


@mutation.field("login")
async def resolve_login(
    _: Any, info: GraphQLResolveInfo, username: str, password: str
) -> dict[str, Any]:
    context: Context = info.context
    client = context.request.client
    try:
        token, row, user = await run_db(
            users.login, context.settings, username, password, client.host if client else None
        )
    except UserFacingError as error:
        return user_errors(error)
    return ok(token=token, expires_at=row.expires_at, user=user)


@mutation.field("logout")
async def resolve_logout(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    context: Context = info.context
    require_viewer(info)
    assert context.token is not None  # a viewer always comes with the token it used
    revoked = await run_db(users.revoke_token, context.token)
    return ok(ok=revoked)


@user_type.field("home")
async def resolve_home(user: User, info: GraphQLResolveInfo) -> Node:
    node: Node = await run_db(special_folder, require_viewer(info), Node.HOME)
    return node


@user_type.field("inbox")
async def resolve_inbox(user: User, info: GraphQLResolveInfo) -> Node:
    node: Node = await run_db(special_folder, require_viewer(info), Node.INBOX)
    return node


bindables = [query, mutation, user_type]
