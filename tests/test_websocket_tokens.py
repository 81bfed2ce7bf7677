"""A websocket ends with its token: logout, revocation and expiry close it (4403 and why)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from support import graphql, login

from archivist.core.db import database, utcnow
from archivist.core.models import AccessToken
from archivist.core.settings import Settings


@pytest.fixture
def quick_client(settings: Settings) -> Iterator[TestClient]:
    """A client whose sockets check their token every second."""
    from archivist.graphql.app import create_app

    with TestClient(create_app(dataclasses.replace(settings, ws_recheck_seconds=1))) as client:
        yield client


@contextlib.contextmanager
def open_socket(client: TestClient, token: str) -> Iterator[Any]:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert socket.receive_json() == {"type": "connection_ack"}
        yield socket


def closed_with(socket) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_json()
    return closed.value.code, closed.value.reason


def test_logout_ends_operations_on_an_open_socket(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    with open_socket(client, token) as socket:
        socket.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }"}})
        assert socket.receive_json()["type"] == "next"
        assert socket.receive_json()["type"] == "complete"
        graphql(client, "mutation { logout { ok } }", token=token)
        socket.send_json(
            {"type": "subscribe", "id": "2", "payload": {"query": "{ me { username } }"}}
        )
        assert closed_with(socket) == (
            4403,
            "TOKEN_REVOKED: This token was revoked by logging out: log in again.",
        )


def test_a_running_subscription_ends_when_the_token_is_revoked(
    quick_client: TestClient, make_user
) -> None:
    make_user("alice")
    token = login(quick_client, "alice")
    with open_socket(quick_client, token) as socket:
        socket.send_json(
            {"type": "subscribe", "id": "1",
             "payload": {"query": "subscription { documentsProgress { documentId } }"}}
        )  # fmt: skip
        socket.send_json({"type": "ping"})
        assert socket.receive_json() == {"type": "pong"}
        graphql(quick_client, "mutation { logout { ok } }", token=token)
        time.sleep(1.5)  # past the next check
        socket.send_json({"type": "ping"})  # answered only if the socket were still open
        code, reason = closed_with(socket)
    assert (code, reason.split(":")[0]) == (4403, "TOKEN_REVOKED")


def test_a_socket_ends_when_its_token_expires(quick_client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(quick_client, "alice")
    with database.connection_context():
        AccessToken.update(expires_at=utcnow() + timedelta(seconds=1)).execute()
    with open_socket(quick_client, token) as socket:
        time.sleep(1.6)
        socket.send_json({"type": "ping"})
        assert closed_with(socket) == (
            4403,
            "TOKEN_EXPIRED: Your session has expired: log in again.",
        )
