"""A database server of the test's own, which it may stop and start again: a PostgreSQL
cluster made with ``initdb``, or a MariaDB data folder made with ``mariadb-install-db``, each
listening on a free port of 127.0.0.1 and a socket in its own folder (never the shared
servers). Used by tests/test_database_restart.py.

Neither server runs as root: as root, the folder is given to the ``postgres`` or ``mysql``
user (Debian's packages make them) and the server runs as that user. The folder is a fresh
``tempfile.mkdtemp`` one rather than pytest's ``tmp_path``, whose parents only root may enter.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from outages import free_port

REQUIRE = "ARCHIVIST_REQUIRE_DATABASE_SERVERS"


def _unavailable(why: str) -> None:
    """Skip, or fail where CI requires private servers (``ARCHIVIST_REQUIRE_DATABASE_SERVERS=1``)."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{why}; {REQUIRE}=1 requires it")
    pytest.skip(why)


def _run_as(user: str) -> list[str]:
    """The prefix that runs a command as ``user`` when this process is root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(user)
    except KeyError:
        _unavailable(f"the server refuses to run as root and there is no {user!r} user")
    return ["runuser", "-u", user, "--"]


def _folder(owner: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"archivist-{owner}-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(owner)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


def _wait(what: str, done: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout:.0f} s")
        time.sleep(0.1)


class PrivatePostgres:
    """A PostgreSQL cluster in a folder of its own, with a database ``archivist``."""

    scheme = "postgresql"
    user = "postgres"

    def __init__(self) -> None:
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"),
            key=lambda path: (
                int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0
            ),
        )
        initdb = Path(found).resolve() if (found := shutil.which("initdb")) else None
        initdb = initdb or (versions[-1] if versions else None)
        if initdb is None:
            _unavailable("initdb is not installed (apt-get install postgresql)")
        assert initdb is not None
        self.bin = initdb.parent
        self.as_user = _run_as(self.user)
        self.folder = _folder(self.user)
        self.data = self.folder / "data"
        self.port = free_port()
        subprocess.run(
            [*self.as_user, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/archivist"

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
             str(self.folder / "server.log"), "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True,
        )  # fmt: skip

    def create_database(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", "archivist"],
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: what ``systemctl restart postgresql`` does first; every
        client connection is ended."""
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
             "-t", "60", "stop"],
            check=True, capture_output=True,
        )  # fmt: skip

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                 "immediate", "-w", "stop"],
                capture_output=True,
            )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateMariaDB:
    """A MariaDB server on a data folder of its own, with a database ``archivist``; root
    connects over TCP without a password."""

    scheme = "mysql"
    user = "mysql"

    def __init__(self) -> None:
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        server = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
        if install is None or server is None:
            _unavailable("mariadb-install-db or mariadbd is not installed "
                         "(apt-get install mariadb-server)")  # fmt: skip
        assert install is not None and server is not None
        self.server = server
        self.as_user = _run_as(self.user)
        self.folder = _folder(self.user)
        self.data = self.folder / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        user = ["--user=mysql"] if os.geteuid() == 0 else []
        subprocess.run(
            [install, "--no-defaults", *user, f"--datadir={self.data}",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/archivist"

    def _ping(self) -> bool:
        import pymysql

        try:
            pymysql.connect(
                host="127.0.0.1", port=self.port, user="root", connect_timeout=1
            ).close()
        except pymysql.err.OperationalError:
            return False
        return True

    def start(self) -> None:
        user = ["--user=mysql"] if os.geteuid() == 0 else []
        with (self.folder / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.server, "--no-defaults", *user, f"--datadir={self.data}",
                 f"--socket={self.folder / 'mysqld.sock'}", f"--port={self.port}",
                 "--bind-address=127.0.0.1", f"--pid-file={self.folder / 'mysqld.pid'}",
                 "--skip-log-bin", "--innodb-flush-log-at-trx-commit=2",
                 "--innodb-buffer-pool-size=64M"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        process = self.process
        _wait("mariadbd did not answer", lambda: self._ping() or process.poll() is not None, 60)
        if process.poll() is not None:
            raise RuntimeError(f"mariadbd exited with {process.returncode}:\n{self.log()}")

    def create_database(self) -> None:
        import pymysql

        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root")
        with connection, connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE archivist CHARACTER SET utf8mb4")

    def stop(self) -> None:
        """SIGTERM and wait: mariadbd's normal shutdown, what ``systemctl restart mariadb``
        does first; every client connection is ended."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        self.process = None

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(20)
        shutil.rmtree(self.folder, ignore_errors=True)


SERVERS = {"postgresql": PrivatePostgres, "mysql": PrivateMariaDB}
