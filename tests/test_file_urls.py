"""Signed file URLs a frontend can use: absolute, stable within a window, cacheable, with
their expiry in the schema and a distinct answer once expired; CORS for another origin."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import graphql, login, run_worker_burst, upload

from archivist.core.settings import Settings, SettingsError, load_settings
from archivist.core.signing import sign_path, url_expiry

DOCUMENT = """query($id: ID!) { document(id: $id) {
  originalUrl downloadUrl urlsExpireAt
  versions { downloadUrl urlsExpireAt }
  pages { edges { node { previewUrl(size: THUMBNAIL) urlsExpireAt } } } } }"""
WORDS = [["Letter", "about", "the", "garden", "fence", "and", "its", "colour"]]


def test_expiry_is_the_end_of_the_next_window() -> None:
    assert url_expiry(3600, now=7200) == 14400
    assert url_expiry(3600, now=10799.9) == 14400  # the same all through one window
    assert url_expiry(3600, now=10800) == 18000
    for now in (7200, 9000, 10799):  # valid for one to two windows
        assert 3600 < url_expiry(3600, now=now) - now <= 7200


def test_origins_and_public_url_settings(tmp_path: Path) -> None:
    env = {"ARCHIVIST_DATA_DIR": str(tmp_path)}
    settings = load_settings({**env, "ARCHIVIST_CORS_ORIGINS": "https://a.example, http://b:3000/",
                              "ARCHIVIST_PUBLIC_URL": "https://dms.example/archivist/"})  # fmt: skip
    assert settings.cors_origins == ("https://a.example", "http://b:3000")
    assert settings.public_url == "https://dms.example/archivist"
    for name, value in (("CORS_ORIGINS", "a.example"), ("CORS_ORIGINS", "https://a/x"),
                        ("PUBLIC_URL", "dms.example"), ("FILE_URL_WINDOW", "10")):  # fmt: skip
        with pytest.raises(SettingsError, match=f"ARCHIVIST_{name}"):
            load_settings({**env, f"ARCHIVIST_{name}": value})


@pytest.fixture
def document(client: TestClient, make_user: Any, redis_client: Any, settings: Settings,
             tmp_path: Path) -> tuple[str, str]:  # fmt: skip
    make_user("alice")
    token = login(client, "alice")
    body = upload(client, token, "letter.pdf", text_pdf(tmp_path / "l.pdf", WORDS).read_bytes())
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    run_worker_burst(settings)
    return token, document_id


def _urls(document: dict[str, Any]) -> list[str]:
    page = document["pages"]["edges"][0]["node"]
    return [document["originalUrl"], document["downloadUrl"],
            document["versions"][0]["downloadUrl"], page["previewUrl"]]  # fmt: skip


@pytest.mark.slow
def test_urls_are_absolute_stable_cacheable_and_say_when_they_expire(
    client: TestClient, document: tuple[str, str], settings: Settings
) -> None:
    token, document_id = document
    first = graphql(client, DOCUMENT, {"id": document_id}, token=token)["data"]["document"]
    second = graphql(client, DOCUMENT, {"id": document_id}, token=token)["data"]["document"]
    if first["urlsExpireAt"] != second["urlsExpireAt"]:  # a window ended in between
        second = graphql(client, DOCUMENT, {"id": document_id}, token=token)["data"]["document"]
    assert _urls(first) == _urls(second)  # the same URLs: the browser keeps what it has
    expires = int(parse_qs(urlsplit(first["originalUrl"]).query)["expires"][0])
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)) == first["urlsExpireAt"]
    assert first["versions"][0]["urlsExpireAt"] == first["urlsExpireAt"]
    assert 3600 < expires - time.time() <= 7200
    for url in _urls(first):
        assert url.startswith("http://testserver/files/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        cache = response.headers["cache-control"]
        assert cache.startswith("private, max-age=") and cache.endswith(", immutable"), cache
        assert 3500 < int(cache.split("max-age=")[1].split(",")[0]) <= 7200
    bare = urlsplit(first["originalUrl"]).path
    by_header = client.get(bare, headers={"Authorization": f"Bearer {token}"})
    assert by_header.headers["cache-control"] == "private, no-cache"


@pytest.mark.slow
def test_an_expired_url_says_so_and_a_forged_one_is_not_found(
    client: TestClient, document: tuple[str, str], settings: Settings
) -> None:
    token, document_id = document
    url = graphql(client, DOCUMENT, {"id": document_id}, token=token)["data"]["document"][
        "originalUrl"
    ]
    query = parse_qs(urlsplit(url).query)
    path, viewer = urlsplit(url).path, int(query["viewer"][0])
    expired = client.get(sign_path(settings.secret_key, path, viewer, int(time.time()) - 1))
    assert expired.status_code == 403 and expired.json()["error"] == "URL_EXPIRED"
    assert expired.headers["cache-control"] == "no-store"
    forged = client.get(sign_path("another secret key!", path, viewer, int(time.time()) - 1))
    assert forged.status_code == 404 and forged.json()["error"] == "NOT_FOUND"


@pytest.fixture
def cors_client(settings: Settings) -> Iterator[TestClient]:
    from archivist.graphql.app import create_app

    configured = dataclasses.replace(
        settings, cors_origins=("https://ui.example",), public_url="https://api.example/dms"
    )
    with TestClient(create_app(configured)) as test_client:
        yield test_client


@pytest.mark.slow
def test_another_origin_may_call_the_api_and_gets_urls_on_the_public_url(
    cors_client: TestClient, document: tuple[str, str]
) -> None:
    token, document_id = document
    preflight = cors_client.options(
        "/graphql",
        headers={"Origin": "https://ui.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    answer = cors_client.post(
        "/graphql", json={"query": DOCUMENT, "variables": {"id": document_id}},
        headers={"Origin": "https://ui.example", "Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert answer.headers["access-control-allow-origin"] == "https://ui.example"
    urls = _urls(answer.json()["data"]["document"])
    assert all(url.startswith("https://api.example/dms/files/") for url in urls), urls
    local = urls[-1].replace("https://api.example/dms", "")
    preview = cors_client.get(local, headers={"Origin": "https://ui.example"})
    assert preview.status_code == 200
    assert preview.headers["access-control-allow-origin"] == "https://ui.example"
    stranger = cors_client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in stranger.headers


def test_no_cors_unless_configured(client: TestClient) -> None:
    response = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://ui.example"}
    )
    assert "access-control-allow-origin" not in response.headers
