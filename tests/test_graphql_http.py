"""GraphQL over HTTP: media types and status codes, so that Apollo and other clients see the
coded errors instead of "Response not successful"."""

from __future__ import annotations

from starlette.testclient import TestClient
from support import login

GRAPHQL_RESPONSE = "application/graphql-response+json"


def _post(client: TestClient, body: object, accept: str | None = None, **headers: str):
    if accept is not None:
        headers["Accept"] = accept
    return client.post("/graphql", json=body, headers=headers)


def _codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


def test_a_missing_token_is_200_with_its_code(client: TestClient) -> None:
    for accept in (None, "application/json", GRAPHQL_RESPONSE):
        response = _post(client, {"query": "{ me { id } }"}, accept)
        assert response.status_code == 200, (accept, response.text)
        assert response.json()["data"] is None
        assert _codes(response.json()) == ["UNAUTHENTICATED"]
        media_type = GRAPHQL_RESPONSE if accept == GRAPHQL_RESPONSE else "application/json"
        assert response.headers["content-type"].startswith(media_type)


def test_request_errors_are_200_as_json_and_400_as_graphql_response(client: TestClient) -> None:
    refusals = [
        ({"query": "{"}, "BAD_REQUEST"),  # does not parse
        ({"query": "{ nope }"}, "BAD_REQUEST"),  # does not validate
        ({"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {}}, "BAD_REQUEST"),
        ({"query": "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"},
         "TOO_MANY_ALIASES"),
    ]  # fmt: skip
    for body, code in refusals:
        as_json = _post(client, body, "application/json")
        assert as_json.status_code == 200, (body, as_json.text)
        assert "data" not in as_json.json() and _codes(as_json.json()) == [code]
        as_graphql = _post(client, body, f"{GRAPHQL_RESPONSE}, application/json;q=0.9")
        assert as_graphql.status_code == 400, (body, as_graphql.text)
        assert as_graphql.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in as_graphql.json() and _codes(as_graphql.json()) == [code]


def test_malformed_requests_are_400_with_a_coded_error(client: TestClient) -> None:
    for body in ({"variables": {}}, {"query": 1}, {"query": "{ __typename }", "variables": []},
                 {"query": "{ __typename }", "extensions": "x"}, [{"query": "{ __typename }"}]):  # fmt: skip
        response = _post(client, body)
        assert response.status_code == 400, body
        assert _codes(response.json()) == ["BAD_REQUEST"]
    not_json = client.post(
        "/graphql", content=b'{"query', headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and _codes(not_json.json()) == ["BAD_REQUEST"]
    plain = client.post(
        "/graphql", content=b"{ __typename }", headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 415


def test_queries_over_get_but_not_mutations(client: TestClient) -> None:
    query = client.get("/graphql", params={"query": "{ __typename }"})
    assert (query.status_code, query.json()) == (200, {"data": {"__typename": "Query"}})
    mutation = client.get(
        "/graphql", params={"query": 'mutation { login(username: "a", password: "b") { token } }'}
    )
    assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
    # A browser gets GraphiQL, its editor filled from ?query=.
    page = client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"}
    )
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_a_malformed_search_leaves_the_other_fields_their_data(
    client: TestClient, make_user
) -> None:
    make_user("alice")
    token = login(client, "alice")
    response = _post(
        client,
        {"query": '{ me { username } search(query: "\\"unbalanced") { totalCount } }'},
        GRAPHQL_RESPONSE,
        Authorization=f"Bearer {token}",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"me": {"username": "alice"}, "search": None}
    assert _codes(body) == ["INVALID_QUERY"] and body["errors"][0]["path"] == ["search"]


def test_a_bad_cursor_is_200_with_its_code(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    response = _post(
        client,
        {"query": '{ trash(after: "nonsense") { totalCount } }'},
        Authorization=f"Bearer {token}",
    )
    assert response.status_code == 200 and _codes(response.json()) == ["INVALID_CURSOR"]
