"""The whole path with a remote index (ARCHIVIST_XAPIAN_REMOTE): workers index into the index
that ``xapian-tcpsrv`` serves, the API searches it, ``archivist index check`` checks it; while
the index host is down, search says so and index jobs leave their debt for later."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import free_port, graphql, login, run_worker_burst, settings_env, upload
from xapian_server import start_tcpsrv, stop_tcpsrv

from archivist.core.models import Document, Page
from archivist.core.settings import Settings, load_settings, use_settings

pytestmark = pytest.mark.slow

SEARCH = (
    "query Search($q: String!) { search(query: $q) { totalCount edges { node { pageNumber } } } }"
)


def test_workers_index_into_the_remote_index_and_the_api_searches_it(
    settings: Settings, make_user, redis_client, tmp_path: Path
) -> None:
    from archivist.graphql.app import create_app

    folder, port = tmp_path / "index-host", free_port()
    remote = {
        "ARCHIVIST_XAPIAN_REMOTE": f"127.0.0.1:{port}",
        "ARCHIVIST_XAPIAN_REMOTE_TIMEOUT": "2",
    }
    env = settings_env(settings.data_dir, settings.database_url, **remote)
    remote_settings = load_settings(env)
    use_settings(remote_settings)
    server = start_tcpsrv(folder, port)

    def archivist(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "archivist.core.cli", *args],
            env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    try:
        with TestClient(create_app(remote_settings)) as client:
            make_user("alice")
            alice = login(client, "alice")
            pdf = text_pdf(tmp_path / "a.pdf", [["remote", "walrus"], ["second", "walrus"]])
            upload(client, alice, "a.pdf", pdf.read_bytes())
            run_worker_burst(remote_settings, **remote)
            found = graphql(client, SEARCH, {"q": "walrus"}, token=alice)["data"]["search"]
            assert found["totalCount"] == 2
            assert not remote_settings.index_dir.exists()  # nothing went to a local folder
            assert archivist("index", "check").stdout.strip() == (
                "Index check: 0 missing, 0 stale, 0 outdated, 0 extra."
            )

            stop_tcpsrv(server)  # the index host goes down
            body = graphql(client, SEARCH, {"q": "walrus"}, token=alice)
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "SEARCH_UNAVAILABLE", body
            assert body["data"] is None or body["data"]["search"] is None
            second = text_pdf(tmp_path / "b.pdf", [["uploaded", "meanwhile"]])
            upload(client, alice, "b.pdf", second.read_bytes())
            run_worker_burst(remote_settings, **remote)
            # OCR went on; the final step (index, then READY) waits for the index host.
            (document,) = Document.select().where(Document.status != Document.READY)
            assert document.status == Document.PROCESSING
            assert not Page.select().where(Page.status != Page.DONE).exists()
            check = archivist("index", "check")
            assert check.returncode == 3 and check.stderr.startswith("archivist index: The search")

            server = start_tcpsrv(folder, port)  # back: the final step's retry catches up
            # The retry is RQ's (scheduled) or the reconciler's (a failed final step, or a
            # scheduled one that no scheduler moved within its slack): bursts until it ran.
            deadline = time.monotonic() + 60
            while Document.select().where(Document.status != Document.READY).exists():
                assert time.monotonic() < deadline, "the final step never caught up"
                time.sleep(1.5)
                run_worker_burst(remote_settings, **remote)
            checked = archivist("index", "check")
            assert checked.returncode == 0, checked.stdout + checked.stderr
            found = graphql(client, SEARCH, {"q": "meanwhile"}, token=alice)["data"]["search"]
            assert found["totalCount"] == 1
            assert (
                graphql(client, SEARCH, {"q": "walrus"}, token=alice)["data"]["search"][
                    "totalCount"
                ]
                == 2
            )
    finally:
        stop_tcpsrv(server)
