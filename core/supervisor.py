"""``archivist run``: Archivist on one machine, everything started and stopped together.

Migrates, creates the first admin, starts a Redis of its own when ``ARCHIVIST_REDIS_URL`` is
not set, then the workers, the consumption folder's service (with ``ARCHIVIST_CONSUME_DIR``)
and the API as child processes. Ctrl-C (SIGINT) or SIGTERM stops
every process it started; if one of them dies, the rest are stopped too and the exit status
says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from types import FrameType

from archivist.core.accounts.roles import ensure_builtin_roles
from archivist.core.db import check_database, configure_database, database
from archivist.core.embedded_redis import EmbeddedRedisError, start_redis
from archivist.core.migrations import migrate
from archivist.core.queue import check_redis
from archivist.core.settings import Settings, SettingsError

STOP_GRACE_SECONDS = 10.0


class _Stop(Exception):
    pass


def _child(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A process group of its own: the terminal's Ctrl-C reaches us, and we stop children in
    # order (API first, then workers, then Redis) instead of all at once.
    return subprocess.Popen(
        [sys.executable, "-m", "archivist.core.cli", *command],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(url: str, api: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise _Stop(f"the API exited with code {api.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise _Stop(f"the API did not answer {url} within {timeout:.0f} s")


def run_embedded(
    settings: Settings, *, workers: int, ensure_admin: Callable[[Settings], None]
) -> int:
    """Run everything until interrupted; returns the exit status."""
    configure_database(settings.database_url)
    check_database()
    with database.connection_context():
        applied = migrate(database.obj)
        ensure_builtin_roles()  # a release may give the built-in roles new permissions
    if applied:
        print(f"Migrated the database: {', '.join(applied)}.")
    ensure_admin(settings)

    env = dict(os.environ)
    env["ARCHIVIST_DATA_DIR"] = str(settings.data_dir)
    # Workers on one machine share its cores: without a cap, each OCR engine would use them
    # all and the workers would slow each other down.
    if settings.ocr_threads is None:
        env["ARCHIVIST_OCR_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    started: list[subprocess.Popen[bytes]] = []
    redis_process = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if settings.redis_url is None:
            redis_process, env["ARCHIVIST_REDIS_URL"] = start_redis(settings.data_dir / "redis")
            print(f"Started Redis at {env['ARCHIVIST_REDIS_URL']}.")
        else:
            check_redis(settings)
        worker_processes = [_child(["worker"], env) for _ in range(max(1, workers))]
        started.extend(worker_processes)
        if settings.consume_dir is not None:
            started.append(_child(["consume"], env))
        api = _child(["serve"], env)
        started.insert(0, api)
        base = f"http://{settings.host}:{settings.port}"
        _wait_healthy(f"{base}/health", api)
        print(
            f"Archivist is running. Progress page: {base}/ui/  GraphiQL: {base}/graphql"
            "  (Ctrl-C stops it)",
            flush=True,
        )
        while True:
            for process in started:
                if process.poll() is not None:
                    raise _Stop(f"a child process exited with code {process.returncode}")
            time.sleep(0.5)
    except _Stop as reason:
        interrupted = str(reason) in ("SIGINT", "SIGTERM")
        if not interrupted:
            print(f"archivist run: {reason}; stopping.", file=sys.stderr)
        return 0 if interrupted else 1
    except (SettingsError, EmbeddedRedisError) as error:
        print(f"archivist run: {error}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop(started)
        if redis_process is not None:
            _stop([redis_process])
        print("Stopped.", flush=True)
