"""Login, tokens and the errors a client sees for every way authentication can fail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    Undefined,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from support import LOGIN, TEST_PASSWORD, graphql, login

from archivist.core.db import database, utcnow
from archivist.core.models import AccessToken, LoginThrottle, User
from archivist.graphql.errors import format_error
from archivist.graphql.schema import build_schema

ME = "{ me { username home { title special } inbox { title special } } }"

UNAUTHENTICATED = (
    "Authentication required: send 'Authorization: Bearer <token>' "
    "(the login mutation gives you a token)."
)


def error_of(body: dict) -> tuple[str, str]:
    (error,) = body["errors"]
    return error["extensions"]["code"], error["message"]


def test_login_then_me(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    body = graphql(client, ME, token=token)
    assert body == {
        "data": {
            "me": {
                "username": "alice",
                "home": {"title": "Home", "special": "HOME"},
                "inbox": {"title": "Inbox", "special": "INBOX"},
            }
        }
    }


def test_token_is_stored_only_as_a_hash(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    with database.connection_context():
        stored = [row.token_hash for row in AccessToken.select()]
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_wrong_password_or_unknown_user_look_the_same(
    client: TestClient, make_user, username: str
) -> None:
    make_user("alice")
    body = graphql(client, LOGIN, {"username": username, "password": "wrong password"})
    assert body["data"]["login"] == {
        "token": None,
        "expiresAt": None,
        "user": None,
        "errors": [
            {"code": "INVALID_CREDENTIALS", "message": "Wrong username or password.", "field": None}
        ],
    }


def test_inactive_user_cannot_log_in(client: TestClient, make_user) -> None:
    user = make_user("alice")
    with database.connection_context():
        User.update(is_active=False).where(User.id == user.id).execute()
    body = graphql(client, LOGIN, {"username": "alice", "password": TEST_PASSWORD})
    assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


def test_logins_are_throttled_per_username_and_address(client: TestClient, make_user) -> None:
    make_user("alice")
    make_user("bob")
    for _ in range(3):  # the test settings allow 3 failures
        body = graphql(client, LOGIN, {"username": "alice", "password": "nope"})
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # Even the right password is refused while throttled...
    body = graphql(client, LOGIN, {"username": "alice", "password": TEST_PASSWORD})
    assert body["data"]["login"]["errors"] == [
        {
            "code": "TOO_MANY_ATTEMPTS",
            "message": "Too many failed logins for this username from your address; "
            "try again in 15 minutes.",
            "field": None,
        }
    ]
    # ...but only for that username.
    assert login(client, "bob")
    # Once the window has passed, the right password works again.
    with database.connection_context():
        LoginThrottle.update(window_started=utcnow() - timedelta(hours=1)).execute()
    assert login(client, "alice")


def test_a_success_resets_the_failure_count(client: TestClient, make_user) -> None:
    make_user("alice")
    for _ in range(2):
        graphql(client, LOGIN, {"username": "alice", "password": "nope"})
    login(client, "alice")
    for _ in range(2):
        graphql(client, LOGIN, {"username": "alice", "password": "nope"})
    assert login(client, "alice")


def test_missing_token(client: TestClient) -> None:
    assert error_of(graphql(client, ME)) == ("UNAUTHENTICATED", UNAUTHENTICATED)


def test_invalid_token(client: TestClient) -> None:
    body = graphql(client, ME, token="not-a-token")
    assert error_of(body) == ("INVALID_TOKEN", "Invalid token: log in again.")


def test_malformed_authorization_header(client: TestClient) -> None:
    body = graphql(client, ME, headers={"Authorization": "Basic YWxpY2U6cGFzcw=="})
    assert error_of(body) == (
        "INVALID_TOKEN",
        "The Authorization header must read 'Bearer <token>'.",
    )


def test_expired_token(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    with database.connection_context():
        AccessToken.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    body = graphql(client, ME, token=token)
    assert error_of(body) == ("TOKEN_EXPIRED", "Your session has expired: log in again.")


def test_logout_revokes_the_token(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    other = login(client, "alice")
    body = graphql(client, "mutation { logout { ok errors { code } } }", token=token)
    assert body == {"data": {"logout": {"ok": True, "errors": []}}}
    assert error_of(graphql(client, ME, token=token)) == (
        "TOKEN_REVOKED",
        "This token was revoked by logging out: log in again.",
    )
    # Other sessions of the same user live on.
    assert graphql(client, ME, token=other)["data"]["me"]["username"] == "alice"


def test_login_works_with_a_stale_token(client: TestClient, make_user) -> None:
    make_user("alice")
    body = graphql(client, LOGIN, {"username": "alice", "password": TEST_PASSWORD}, token="stale")
    assert body["data"]["login"]["errors"] == []


def _literal(type_: GraphQLInputType) -> str:
    """A syntactically valid value of ``type_`` (what it means does not matter here)."""
    named = get_nullable_type(type_)
    if isinstance(named, GraphQLList):
        return f"[{_literal(named.of_type)}]"
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLInputObjectType):
        fields = (f"{n}: {_literal(f.type)}" for n, f in named.fields.items() if is_required(f))
        return "{" + ", ".join(fields) + "}"
    return {"Int": "1", "Float": "1.5", "Boolean": "true"}.get(named.name, '"1"')


def is_required(thing: GraphQLArgument | GraphQLInputField) -> bool:
    return isinstance(thing.type, GraphQLNonNull) and thing.default_value is Undefined


def test_every_root_field_but_login_needs_a_token(client: TestClient) -> None:
    schema = build_schema()
    checked = 0
    for keyword, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            if (root.name, name) == ("Mutation", "login"):
                continue
            required = {a: x for a, x in field.args.items() if is_required(x)}
            files = [a for a, x in required.items() if get_named_type(x.type).name == "Upload"]
            args = ", ".join(
                f"{a}: ${a}" if a in files else f"{a}: {_literal(x.type)}"
                for a, x in required.items()
            )
            signature = "(" + ", ".join(f"${a}: Upload!" for a in files) + ")" if files else ""
            call = f"{name}({args})" if args else name
            selection = "" if is_leaf_type(get_named_type(field.type)) else "{ __typename }"
            operation = f"{keyword}{signature} {{ {call} {selection} }}"
            if files:  # sent as the GraphQL multipart request spec
                body = client.post(
                    "/graphql",
                    data={
                        "operations": json.dumps(
                            {"query": operation, "variables": dict.fromkeys(files)}
                        ),
                        "map": json.dumps(
                            {str(i): [f"variables.{a}"] for i, a in enumerate(files)}
                        ),
                    },
                    files={
                        str(i): ("x.pdf", b"%PDF-1.4", "application/pdf") for i in range(len(files))
                    },
                ).json()
            else:
                body = graphql(client, operation)
            assert error_of(body) == ("UNAUTHENTICATED", UNAUTHENTICATED), (root.name, name)
            checked += 1
    assert checked >= 6


def test_internal_errors_are_hidden_unless_debug() -> None:
    error = GraphQLError("boom", original_error=RuntimeError("password=hunter2 in SQL"))
    assert format_error(error, debug=False) == {
        "message": "Internal server error",
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    shown = format_error(error, debug=True)
    assert "exception" in shown["extensions"]


def test_websocket_without_token_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403
    assert closed.value.reason.startswith("UNAUTHENTICATED: Authentication required")


def test_websocket_with_bad_token_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (
        4403,
        "INVALID_TOKEN: Invalid token: log in again.",
    )


def test_websocket_with_token_is_acknowledged_and_runs_queries(
    client: TestClient, make_user
) -> None:
    make_user("alice")
    token = login(client, "alice")
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ me { username } }"}})
        assert ws.receive_json() == {
            "type": "next",
            "id": "1",
            "payload": {"data": {"me": {"username": "alice"}}},
        }
