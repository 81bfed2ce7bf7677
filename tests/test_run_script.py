"""The README's first command: ``scripts/run`` brings Archivist up, Ctrl-C takes it down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import psutil
import pytest
from samples import text_pdf
from support import REPO, free_port, wait_for_http

pytestmark = pytest.mark.slow


def _pids_of(pattern: str) -> set[int]:
    result = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return {int(pid) for pid in result.stdout.split()}


def test_scripts_run_serves_graphql_and_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ARCHIVIST_") or key == "ARCHIVIST_VENV"
    }
    env.update(
        ARCHIVIST_VENV=sys.prefix,  # the environment running these tests is already set up
        ARCHIVIST_DATA_DIR=str(data),
        ARCHIVIST_PORT=str(port),
        ARCHIVIST_ADMIN_PASSWORD="admin password 1",
        ARCHIVIST_CONSUME_DIR=str(tmp_path / "consume"),
        ARCHIVIST_CONSUME_INTERVAL="1",
        ARCHIVIST_CONSUME_SETTLE="0",
    )
    (tmp_path / "consume").mkdir()
    children: list[psutil.Process] = []
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(REPO / "scripts" / "run")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health", timeout=180, process=process)
        deadline = time.monotonic() + 30
        while "Archivist is running" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        output = log_path.read_text()
        assert f"GraphiQL: {base}/graphql" in output
        assert f"Progress page: {base}/ui/" in output
        assert "Started Redis at unix://" in output
        assert _pids_of(str(data / "redis")), "the embedded Redis is not running"

        login = httpx.post(
            f"{base}/graphql",
            json={
                "query": 'mutation { login(username: "admin", password: "admin password 1") '
                "{ token errors { code } } }"
            },
        ).json()
        token = login["data"]["login"]["token"]
        me = httpx.post(
            f"{base}/graphql",
            json={"query": "{ me { username isSuperuser } }"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert me == {"data": {"me": {"username": "admin", "isSuperuser": True}}}
        # The consumption folder is watched: a file put there becomes admin's document.
        text_pdf(tmp_path / "consume" / "letter.pdf", [["letter"]])
        deadline = time.monotonic() + 60
        while not (tmp_path / "consume" / "done" / "letter.pdf").exists():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        children = psutil.Process(process.pid).children(recursive=True)
        # Redis, one worker (and the scheduler it forks), the consumer and the API.
        assert len(children) >= 4, children
    finally:
        # What a terminal's Ctrl-C does: SIGINT to the foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        returncode = process.wait(timeout=60)
    output = log_path.read_text()
    assert returncode == 0, output
    assert output.rstrip().endswith("Stopped."), output
    time.sleep(0.5)
    assert _pids_of(str(data / "redis")) == set(), "the embedded Redis outlived scripts/run"
    survivors = [child for child in children if child.is_running() and child.status() != "zombie"]
    assert survivors == []
