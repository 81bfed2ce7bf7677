"""``me``, ``login``, ``logout`` and the User type."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType, QueryType
from graphql import GraphQLResolveInfo

from archivist.core import users
from archivist.core.accounts import audit
from archivist.core.db import run_db
from archivist.core.errors import UserFacingError
from archivist.core.models import AccessToken, User
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
    address = client.host if client else None

    def log_in() -> tuple[str, AccessToken, User]:
        try:
            token, row, user = users.login(context.settings, username, password, address)
        except UserFacingError as error:
            audit.record(None, "login.failed", actor_name=username, code=error.code,
                         address=address)  # fmt: skip
            raise
        audit.record(users.Viewer(user.id, user.username, user.is_superuser, frozenset()), "login",
                     address=address)  # fmt: skip
        return token, row, user

    try:
        token, row, user = await run_db(log_in)
    except UserFacingError as error:
        return user_errors(error)
    return ok(token=token, expires_at=row.expires_at, user=user)


@mutation.field("logout")
async def resolve_logout(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    context: Context = info.context
    viewer = require_viewer(info)
    assert context.token is not None  # a viewer always comes with the token it used

    def log_out(token: str) -> bool:
        revoked = users.revoke_token(token)
        audit.record(viewer, "logout")
        return revoked

    revoked = await run_db(log_out, context.token)
    return ok(ok=revoked)


bindables = [query, mutation, user_type]
