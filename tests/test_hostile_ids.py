"""Ids and cursors no row could have (25 digits, unicode digits): a clear answer, never a 500."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import gid, graphql, login

from archivist.core.db import database
from archivist.core.models import Node

HUGE = "1234567890123456789012345"


@pytest.fixture
def alice(client: TestClient, make_user) -> tuple[str, int]:
    user = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == user.id) & (Node.special == "home"))
    return login(client, "alice"), home.id


@pytest.mark.parametrize("value", [HUGE, "99999999999", "²", "-1", "0", " 12x"])
def test_an_id_no_row_can_have_is_not_found(client: TestClient, alice, value: str) -> None:
    token, _home = alice
    body = graphql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": value}, token=token)
    assert body == {"data": {"node": None}}
    body = graphql(
        client,
        'mutation($id: ID!) { renameNode(id: $id, title: "x") { errors { code } } }',
        {"id": value},
        token=token,
    )
    assert body["data"]["renameNode"]["errors"] == [{"code": "NOT_FOUND"}]


def test_a_huge_literal_id_is_not_found(client: TestClient, alice) -> None:
    token, _home = alice
    body = graphql(
        client,
        "{ node(id: HUGE) { id } document(id: HUGE) { id } }".replace("HUGE", HUGE),
        token=token,
    )
    assert body == {"data": {"node": None, "document": None}}


@pytest.mark.parametrize("cursor", [HUGE, "4294967296", "²", "-3", "1e3"])
def test_a_cursor_we_never_gave_out_is_invalid(client: TestClient, alice, cursor: str) -> None:
    token, home = alice
    query = """query($id: ID!, $after: String) { node(id: $id) { ... on Folder {
      children(after: $after) { totalCount } } } }"""
    body = graphql(client, query, {"id": gid("Folder", home), "after": cursor}, token=token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]
    body = graphql(client, "query($a: String) { trash(after: $a) { totalCount } }", {"a": cursor},
                   token=token)  # fmt: skip
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]


@pytest.mark.parametrize(
    "path",
    [
        f"/files/originals/{HUGE}",
        f"/files/versions/{HUGE}",
        f"/files/previews/{HUGE}/medium",
        f"/files/zip?ids={HUGE}",
        f"/files/zip?ids=1,{HUGE}",
        "/files/zip?ids=%C2%B2",
    ],
)
def test_file_routes_answer_404_for_huge_ids(client: TestClient, alice, path: str) -> None:
    token, _home = alice
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"
