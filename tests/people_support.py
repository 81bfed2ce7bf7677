"""What the tests of groups, roles, shares and accounts share: people with roles, and calls."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient
from support import gid, graphql, login

from archivist.core.accounts.roles import ensure_builtin_roles
from archivist.core.db import database
from archivist.core.models import Node, Role, UserRole


def person(make_user: Any, client: TestClient, name: str, *roles: str) -> tuple[Any, str]:
    """A user holding exactly ``roles`` (built-in names; none: Editor, the default), and a
    token of theirs."""
    user = make_user(name)
    if roles:
        with database.connection_context():
            builtin = ensure_builtin_roles()
            UserRole.delete().where(UserRole.user == user.id).execute()
            for role in roles:
                UserRole.create(user=user.id, role=builtin[role].id)
    return user, login(client, name)


def role_id(name: str) -> str:
    with database.connection_context():
        return gid("Role", Role.get(Role.name == name).id)


def special(user_id: int | None = None, group_id: int | None = None, which: str = "home") -> int:
    with database.connection_context():
        owner = Node.owner_user == user_id if user_id else Node.owner_group == group_id
        return int(Node.get(owner & (Node.special == which)).id)


def call(client: TestClient, token: str, query: str, **variables: Any) -> Any:
    """The data of a request that may carry errors in payloads but none at the top."""
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]
