"""Everything Archivist writes is private to its account, whatever the umask it starts with."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from samples import text_pdf
from support import LOGIN, TEST_PASSWORD, free_port, settings_env, upload, wait_for_http

from archivist.core.file_modes import make_data_private, make_private_dirs

WORDS = ["private", "papers", "of", "one", "person", "kept", "away", "from", "others"]


def _loose(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) that group or others may use at all."""
    found = []
    for folder, _folders, files in os.walk(root):
        for path in [Path(folder)] + [Path(folder) / name for name in files]:
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{path.relative_to(root.parent)} {stat.filemode(mode)}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_everything_written_is_private(umask: int, tmp_path: Path, redis_client: Any) -> None:
    """Real processes started with a loose umask: migrate, serve, upload, worker, index."""
    data = tmp_path / "data"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **settings_env(data, f"sqlite:///{data / 'archivist.sqlite3'}"),
        "ARCHIVIST_PORT": str(free_port()),
    }
    del env["ARCHIVIST_SECRET_KEY"]  # so that the generated key file is written too

    def archivist(*args: str, **kwargs: Any) -> Any:
        command = [sys.executable, "-m", "archivist.core.cli", *args]
        return subprocess.Popen(command, env=env, umask=umask, **kwargs)

    def run(*args: str) -> None:
        process = archivist(*args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output

    run("migrate")
    run("createuser", "--username", "alice", "--password", TEST_PASSWORD)
    server = archivist("serve", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{env['ARCHIVIST_PORT']}"
    try:
        wait_for_http(f"{base}/health", process=server)
        with httpx.Client(base_url=base, timeout=60) as client:
            body = client.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "variables": {"username": "alice", "password": TEST_PASSWORD},
                },
            ).json()
            token = body["data"]["login"]["token"]
            content = text_pdf(tmp_path / "p.pdf", [WORDS]).read_bytes()
            sent = upload(client, token, "papers.pdf", content, {"mode": "OFF"})
            assert sent["data"]["uploadDocument"]["errors"] == [], sent
        run("worker", "--burst")  # render, previews, text layer version, index
    finally:
        server.terminate()
        server.wait(timeout=20)
    written = {path.relative_to(data).parts[0] for path in data.rglob("*")}
    assert {"storage", "index", "archivist.sqlite3", "secret_key"} <= written, written
    assert list((data / "storage" / "previews").rglob("*.jpg"))
    assert list((data / "index").rglob("*")), "nothing was indexed"
    assert _loose(data) == []


def test_private_folders_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        make_private_dirs(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(previous)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_start_up_takes_away_what_an_older_version_left_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "storage").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "storage", 0o755)
    database = tmp_path / "elsewhere.sqlite3"
    for path in (data / "secret_key", database, Path(f"{database}-wal")):
        path.write_text("x")
        os.chmod(path, 0o644)
    make_data_private(data, database)
    assert _loose(data) == []
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{database}-wal").stat().st_mode) == 0o600
