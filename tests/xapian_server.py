"""A real ``xapian-tcpsrv`` (Debian's xapian-tools) serving an index folder to remote clients."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import xapian

from tests.support import free_port


def tcpsrv_path() -> str:
    """The xapian-tcpsrv binary; skips the test where it is not installed (fails in CI)."""
    found = shutil.which("xapian-tcpsrv")
    if found is None:
        why = "xapian-tcpsrv is not installed (apt-get install xapian-tools)"
        if os.environ.get("ARCHIVIST_REQUIRE_XAPIAN_TCPSRV") == "1":
            pytest.fail(f"{why}; ARCHIVIST_REQUIRE_XAPIAN_TCPSRV=1 requires it")
        pytest.skip(why)
    return found


def start_tcpsrv(
    folder: Path, port: int, *, host: str = "127.0.0.1", idle_timeout_ms: int | None = None
) -> subprocess.Popen[bytes]:
    """Start ``xapian-tcpsrv --writable`` on ``folder`` and wait until it takes connections."""
    command = [tcpsrv_path(), "--writable", "--quiet", "--interface", host, "--port", str(port)]
    if idle_timeout_ms is not None:
        command += ["--idle-timeout", str(idle_timeout_ms)]
    log = folder.parent / f"xapian-tcpsrv-{port}.log"
    # A session of its own: on SIGTERM the server kills its whole process group (its
    # connections' children), which would otherwise be pytest's.
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*command, str(folder)], stdout=output, stderr=output, start_new_session=True
        )
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"xapian-tcpsrv exited with {process.returncode}: {log.read_text()}"
            )
        try:  # a real client: a bare probe makes the server log a broken pipe
            xapian.remote_open(host, port, 2000, 500).close()
            return process
        except xapian.NetworkError:
            if time.monotonic() > deadline:
                stop_tcpsrv(process)
                raise AssertionError(f"xapian-tcpsrv did not listen on {host}:{port}") from None
            time.sleep(0.02)


def stop_tcpsrv(process: subprocess.Popen[bytes]) -> None:
    # Its children (one per connection) end when their client goes or their idle timeout ends.
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def xapian_server(folder: Path, *, idle_timeout_ms: int | None = None) -> Iterator[str]:
    """A writable ``xapian-tcpsrv`` on ``folder`` at a free local port; yields ``host:port``."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = start_tcpsrv(folder, port, idle_timeout_ms=idle_timeout_ms)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_tcpsrv(process)
