"""Watching the work: the queue window (administrators), a document's place in line, /metrics.

Real Redis and real uploads; no workers here (nothing is taken off the queue, so what is
queued stays put while it is looked at). The tests with real workers, a failed job retried
and the workers' counters on /metrics, are in test_work_queue_workers.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from graphql import ObjectTypeDefinitionNode, ObjectTypeExtensionNode, parse
from prometheus_client.parser import text_string_to_metric_families
from samples import blank_pdf
from starlette.testclient import TestClient
from support import REPO, graphql, login, upload

from archivist.core.permissions import may_scrape_metrics
from archivist.core.settings import Settings, SettingsError, load_settings

METRICS_TOKEN = "scrape-me-0123456789abcdef"

WORK_QUEUE = """{ workQueue { at pagesWaiting
  queues { name queuedCount startedCount failedCount scheduledCount deferredCount
    jobs(state: QUEUED, first: 50) { totalCount edges { node { jobId function description state } } } }
  workers { name state currentJob { jobId startedAt } } } }"""

POSITION = """query($id: ID!) { document(id: $id) { status
  queuePosition { pagesAhead pagesInProgress pagesQueued pagesWaiting } } }"""


@pytest.fixture
def app(settings: Settings, redis_client: Any) -> Iterator[TestClient]:
    """The API with /metrics behind a token, on a Redis emptied for the test."""
    from archivist.graphql.app import create_app

    configured = dataclasses.replace(settings, metrics_token=METRICS_TOKEN)
    with TestClient(create_app(configured)) as client:
        yield client


@pytest.fixture
def tokens(app: TestClient, make_user) -> dict[str, str]:
    make_user("root", superuser=True)
    make_user("alice")
    make_user("bob")
    return {name: login(app, name) for name in ("root", "alice", "bob")}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def _upload_blank(app: TestClient, token: str, tmp_path: Path, name: str, pages: int) -> str:
    content = blank_pdf(tmp_path / f"{name}.pdf", pages).read_bytes()
    body = upload(app, token, f"{name}.pdf", content, {"mode": "OFF", "title": name})
    document_id: str = body["data"]["uploadDocument"]["document"]["id"]
    return document_id


def test_only_administrators_see_and_act_on_the_queue(
    app: TestClient, tokens: dict[str, str]
) -> None:
    for name in ("alice", "bob"):
        assert _code(graphql(app, WORK_QUEUE, token=tokens[name])) == "FORBIDDEN"
        for action in ("retryJob", "discardJob"):
            body = graphql(app, f'mutation {{ {action}(jobId: "x") {{ ok }} }}', token=tokens[name])
            assert _code(body) == "FORBIDDEN", body
    assert _code(graphql(app, WORK_QUEUE)) == "UNAUTHENTICATED"
    data = graphql(app, WORK_QUEUE, token=tokens["root"])["data"]["workQueue"]
    assert [queue["name"] for queue in data["queues"]] == ["documents", "index", "pages"]
    assert data["workers"] == [] and data["pagesWaiting"] == 0
    missing = graphql(app, 'mutation { retryJob(jobId: "nope") { ok errors { code field } } }',
                      token=tokens["root"])  # fmt: skip
    assert missing["data"]["retryJob"] == {
        "ok": False,
        "errors": [{"code": "JOB_NOT_FOUND", "field": "jobId"}],
    }


@contextlib.contextmanager
def _socket(app: TestClient, token: str) -> Iterator[Any]:
    with app.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert socket.receive_json() == {"type": "connection_ack"}
        yield socket


STATS = """subscription($s: Int) { queueStats(intervalSeconds: $s) {
  at pagesWaiting queues { name queuedCount } } }"""


def test_queue_stats_subscription_is_for_administrators(
    app: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    with _socket(app, tokens["alice"]) as socket:
        payload = {"query": STATS, "variables": {"s": 1}}
        socket.send_json({"type": "subscribe", "id": "1", "payload": payload})
        message = socket.receive_json()
        assert message["type"] in ("error", "next"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    _upload_blank(app, tokens["alice"], tmp_path, "five", 5)
    with _socket(app, tokens["root"]) as socket:
        payload = {"query": STATS, "variables": {"s": 1}}
        socket.send_json({"type": "subscribe", "id": "1", "payload": payload})
        snapshots = [socket.receive_json()["payload"]["data"]["queueStats"] for _ in range(2)]
        socket.send_json({"type": "complete", "id": "1"})
        bad = {"query": STATS, "variables": {"s": 0}}
        socket.send_json({"type": "subscribe", "id": "2", "payload": bad})
        message = socket.receive_json()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "INVALID_INTERVAL"
    assert snapshots[0]["at"] <= snapshots[1]["at"]
    for snapshot in snapshots:
        pages = next(q for q in snapshot["queues"] if q["name"] == "pages")
        # No worker: the owner's window is 2 pages; the other 3 wait their turn.
        assert (pages["queuedCount"], snapshot["pagesWaiting"]) == (2, 3)


def test_queue_position_counts_pages_ahead_and_never_names_them(
    app: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    first = _upload_blank(app, tokens["alice"], tmp_path, "alice-secret-first", 6)
    second = _upload_blank(app, tokens["alice"], tmp_path, "alice-secret-second", 1)
    bobs = _upload_blank(app, tokens["bob"], tmp_path, "bobs", 1)

    def position(token: str, document_id: str) -> dict[str, int]:
        body = graphql(app, POSITION, {"id": document_id}, token=tokens[token])
        assert "errors" not in body, body
        value: dict[str, int] = body["data"]["document"]["queuePosition"]
        return value

    # alice's window (2 pages, no worker running) holds the first document's first two pages.
    assert position("alice", first) == {
        "pagesAhead": 0, "pagesInProgress": 0, "pagesQueued": 2, "pagesWaiting": 4,
    }  # fmt: skip
    # Her second document waits behind the whole queue (3 pages) and her own 4 earlier pages.
    assert position("alice", second) == {
        "pagesAhead": 7, "pagesInProgress": 0, "pagesQueued": 0, "pagesWaiting": 1,
    }  # fmt: skip
    # Bob's page was queued at once, behind alice's two.
    assert position("bob", bobs) == {
        "pagesAhead": 2, "pagesInProgress": 0, "pagesQueued": 1, "pagesWaiting": 0,
    }  # fmt: skip
    # Another's document stays invisible (null, as any document one may not read).
    body = graphql(app, POSITION, {"id": first}, token=tokens["bob"])
    assert body["data"]["document"] is None

    # The administrator sees the jobs by function and ids, never a title.
    root = graphql(app, WORK_QUEUE, token=tokens["root"])
    assert "errors" not in root, root
    pages = next(q for q in root["data"]["workQueue"]["queues"] if q["name"] == "pages")
    assert pages["queuedCount"] == 3 and root["data"]["workQueue"]["pagesWaiting"] == 5
    jobs = [edge["node"] for edge in pages["jobs"]["edges"]]
    assert pages["jobs"]["totalCount"] == 3
    assert {(job["function"], job["state"]) for job in jobs} == {("process_page", "QUEUED")}
    assert all(job["description"].startswith("process_page(") for job in jobs)
    assert "secret" not in str(root) and "bobs" not in str(root)


def test_a_ready_document_has_no_queue_position(app: TestClient, tokens: dict[str, str]) -> None:
    from support import gid, make_document, row_id

    home = graphql(app, "{ me { id home { id } } }", token=tokens["alice"])["data"]["me"]
    document_id = make_document(row_id(home["home"]["id"]), row_id(home["id"]), "done", ["text"])
    body = graphql(app, POSITION, {"id": gid("Document", document_id)}, token=tokens["alice"])
    assert body["data"]["document"] == {"status": "READY", "queuePosition": None}


def _scrape(app: TestClient, **headers: str) -> Any:
    return app.get("/metrics", headers=headers)


def test_metrics_need_the_token(app: TestClient, tokens: dict[str, str], settings) -> None:
    assert _scrape(app).status_code == 403
    assert _scrape(app, Authorization="Bearer wrong-token-0123456789").status_code == 403
    # A user's API token, even an administrator's, is not the scrape token.
    assert _scrape(app, Authorization=f"Bearer {tokens['root']}").status_code == 403
    response = _scrape(app, Authorization=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"archivist_graphql_requests", "archivist_queue_jobs", "archivist_redis_up",
            "archivist_index_size_bytes", "archivist_pages_waiting"} <= names  # fmt: skip


def test_metrics_are_off_without_a_setting(settings: Settings, redis_client: Any) -> None:
    from archivist.graphql.app import create_app

    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 404


def test_metrics_by_address(settings: Settings) -> None:
    allowed = dataclasses.replace(
        settings, metrics_allow=(ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
    )
    assert may_scrape_metrics(allowed, "127.0.0.1", None)
    assert may_scrape_metrics(allowed, "10.1.2.3", None)
    assert not may_scrape_metrics(allowed, "192.168.1.1", None)
    assert not may_scrape_metrics(allowed, "testclient", None)
    assert not may_scrape_metrics(allowed, None, METRICS_TOKEN)  # no token is configured
    both = dataclasses.replace(allowed, metrics_token=METRICS_TOKEN)
    assert may_scrape_metrics(both, "192.168.1.1", METRICS_TOKEN)
    assert not may_scrape_metrics(both, "192.168.1.1", METRICS_TOKEN[:-1])


def test_metrics_settings(tmp_path: Path) -> None:
    base = {"ARCHIVIST_DATA_DIR": str(tmp_path), "ARCHIVIST_SECRET_KEY": "k" * 20}
    loaded = load_settings({**base, "ARCHIVIST_METRICS_ALLOW": "127.0.0.1, 10.0.0.0/8,::1"})
    assert [str(n) for n in loaded.metrics_allow] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert loaded.metrics_token is None
    with pytest.raises(SettingsError, match="ARCHIVIST_METRICS_ALLOW: 'nowhere'"):
        load_settings({**base, "ARCHIVIST_METRICS_ALLOW": "nowhere"})
    with pytest.raises(SettingsError, match="ARCHIVIST_METRICS_TOKEN: must be at least 16"):
        load_settings({**base, "ARCHIVIST_METRICS_TOKEN": "short"})
    assert "metrics_token" not in repr(load_settings({**base, "ARCHIVIST_METRICS_TOKEN": "s" * 16}))


def test_requests_are_counted_by_operation_and_outcome(
    app: TestClient, tokens: dict[str, str]
) -> None:
    graphql(app, "{ me { username } }", token=tokens["alice"])
    graphql(app, "{ me { username } }", token=tokens["alice"])
    graphql(app, "{ me { username } }")  # UNAUTHENTICATED
    graphql(app, "{ nosuchfield }", token=tokens["alice"])  # refused by validation
    graphql(app, "{ me { username } ocrLanguages { engine } }", token=tokens["alice"])
    text = _scrape(app, Authorization=f"Bearer {METRICS_TOKEN}").text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def requests(operation: str, kind: str, outcome: str) -> float:
        labels = (("operation", operation), ("outcome", outcome), ("type", kind))
        return samples.get(("archivist_graphql_requests_total", labels), 0.0)

    assert requests("me", "query", "ok") == 2
    assert requests("me", "query", "error") == 1
    assert requests("unknown", "unknown", "refused") == 1
    assert requests("several", "query", "ok") == 1
    count = samples[("archivist_graphql_request_seconds_count",
                     (("operation", "me"), ("type", "query")))]  # fmt: skip
    assert count == 3


def test_open_subscriptions_are_counted(app: TestClient, tokens: dict[str, str]) -> None:
    def open_count() -> float:
        text = _scrape(app, Authorization=f"Bearer {METRICS_TOKEN}").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "archivist_subscriptions" and sample.labels == {
                    "subscription": "queueStats"
                }:
                    return sample.value
        return 0.0

    with _socket(app, tokens["root"]) as socket:
        payload = {"query": STATS, "variables": {"s": 60}}
        socket.send_json({"type": "subscribe", "id": "1", "payload": payload})
        assert socket.receive_json()["type"] == "next"
        assert open_count() == 1
        socket.send_json({"type": "complete", "id": "1"})
    assert open_count() == 0


# Every type and field this window adds is described, and the running schema says the same.
WINDOW_TYPES = ("WorkQueue", "JobQueue", "JobConnection", "JobEdge", "Job", "Worker",
                "JobPayload", "QueuePosition")  # fmt: skip
WINDOW_FIELDS = {"Query": {"workQueue"}, "Mutation": {"retryJob", "discardJob"},
                 "Subscription": {"queueStats"}, "Document": {"queuePosition"}}  # fmt: skip


def test_schema_file_and_introspection_agree(app: TestClient, tokens: dict[str, str]) -> None:
    document = parse((REPO / "schema.graphql").read_text())
    in_file: dict[str, dict[str, str | None]] = {}
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            fields = in_file.setdefault(definition.name.value, {})
            for field in definition.fields or ():
                fields[field.name.value] = field.description.value if field.description else None
    query = """query($name: String!) { __type(name: $name) { description
      fields { name description } } }"""
    for name in (*WINDOW_TYPES, *WINDOW_FIELDS):
        served = graphql(app, query, {"name": name}, token=tokens["alice"])["data"]["__type"]
        served_fields = {field["name"]: field["description"] for field in served["fields"]}
        wanted = WINDOW_FIELDS.get(name) or set(in_file[name])
        for field_name in wanted:
            assert in_file[name][field_name], f"{name}.{field_name} has no description"
            assert served_fields[field_name] == in_file[name][field_name], (name, field_name)
        if name in WINDOW_TYPES:
            assert served["description"], name
            assert set(served_fields) == set(in_file[name]), name
