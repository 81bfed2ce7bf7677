"""Shared fixtures: a real database (SQLite, PostgreSQL or MariaDB), a real Redis, the app.

``ARCHIVIST_TEST_DATABASE_URL`` picks the database (default: SQLite in a temporary folder);
``ARCHIVIST_TEST_REDIS_URL`` the Redis (default redis://127.0.0.1:6379/15). Every test starts
from empty tables; the schema is built once per session by running every migration.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from peewee import Database
from starlette.testclient import TestClient
from support import (
    TEST_PASSWORD,
    clear_tables,
    default_database_url,
    drop_all_tables,
    settings_env,
)

from archivist.core.db import configure_database, database
from archivist.core.migrations import migrate
from archivist.core.settings import Settings, load_settings, use_settings


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("archivist")


@pytest.fixture(scope="session")
def database_url(session_dir: Path) -> str:
    return default_database_url(session_dir)


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> Iterator[Database]:
    db = configure_database(database_url)
    with db.connection_context():
        drop_all_tables(db)
        migrate(db)
    yield db
    if not db.is_closed():
        db.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, migrated_database: Database) -> Settings:
    """Settings for one test, on a clean database and a fresh data directory."""
    clear_tables()
    value = load_settings(settings_env(tmp_path / "data", database_url))
    use_settings(value)
    return value


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from archivist.graphql.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_user(settings: Settings) -> Any:
    """Create users with :data:`TEST_PASSWORD`."""
    from archivist.core.users import create_user

    def factory(username: str, **kwargs: Any) -> Any:
        with database.connection_context():
            return create_user(username, TEST_PASSWORD, **kwargs)

    return factory


@contextmanager
def serving(settings: Settings, tmp_path: Path, **env: str) -> Iterator[str]:
    """``archivist serve`` in a real process on a free port, with ``env`` on top of the
    settings; yields its base URL."""
    import subprocess
    import sys

    from support import free_port, wait_for_http

    port = free_port()
    full_env = settings_env(settings.data_dir, settings.database_url, ARCHIVIST_PORT=str(port))
    full_env.update(PIPELINE_ENV)
    full_env.update(env)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "archivist.core.cli", "serve"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **full_env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", process=process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        # Shown with the test's output when it fails: the server's account of an internal
        # error (a client sees only "Internal server error").
        text = (tmp_path / "serve.log").read_text(errors="replace")
        if "Traceback" in text:
            print(f"--- last traceback in serve.log ---\n{text[text.rfind('Traceback') :][-4000:]}")


@pytest.fixture
def live_server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """``archivist serve`` in a real process on a free port; yields its base URL."""
    with serving(settings, tmp_path) as base:
        yield base


PIPELINE_ENV = {
    "ARCHIVIST_OCR_DPI": "150",  # small pages: EasyOCR on these CPUs is slow
    "ARCHIVIST_PAGE_LEASE": "4",
    "ARCHIVIST_RECONCILE_INTERVAL": "1",
    "ARCHIVIST_RETRY_INTERVALS": "0,0",  # a failing page job is tried three times, at once
    # EasyOCR's ONNX export is made once per machine, not once per test's data folder.
    "ARCHIVIST_MODEL_CACHE": os.path.join(tempfile.gettempdir(), "archivist-test-models"),
}


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def chromium_path() -> str:
    """Debian's chromium for Playwright (no browser download); skipped when it is missing,
    unless ``ARCHIVIST_REQUIRE_BROWSER=1`` (CI) makes that a failure."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("ARCHIVIST_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (ARCHIVIST_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return CHROMIUM


class OfflineBrowser:
    """Debian's chromium under Playwright, for one test. Pages opened with ``new_page`` may
    reach one origin (``host:port``) only: every other request is aborted and its URL listed
    in ``refused``, so a test can assert that nothing left this host."""

    ARGS = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.refused: list[str] = []

    def new_page(self, origin: str, **options: Any) -> Any:
        page = self.browser.new_page(**options)

        def only_origin(route: Any, request: Any) -> None:
            if urlsplit(request.url).netloc == origin:
                route.continue_()
            else:
                self.refused.append(request.url)
                route.abort()

        page.route("**/*", only_origin)
        return page


@pytest.fixture
def offline_browser(chromium_path: str) -> Iterator[OfflineBrowser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=OfflineBrowser.ARGS
        )
        try:
            yield OfflineBrowser(browser)
        finally:
            browser.close()


@pytest.fixture
def redis_client(settings: Settings) -> Iterator[Any]:
    """The test Redis, emptied before the test (stale queues of earlier runs would interfere)."""
    from archivist.core.queue import redis_connection

    connection = redis_connection(settings)
    connection.flushdb()
    yield connection
    connection.flushdb()


class Workers:
    """Real ``archivist worker`` processes for one test."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.processes: dict[str, Any] = {}

    def start(self, name: str, **env: str) -> Any:
        import subprocess
        import sys

        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **settings_env(self.settings.data_dir, self.settings.database_url),
            **PIPELINE_ENV,
            **env,
        }
        log = (self.tmp_path / f"worker-{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "archivist.core.cli", "worker", "--name", name],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so a test can kill the worker and what it forked
        )
        log.close()  # the child has its own copy
        self.processes[name] = process
        return process

    def wait_registered(self, redis: Any, count: int, timeout: float = 60) -> None:
        import time

        from rq import Worker

        deadline = time.monotonic() + timeout
        while len(Worker.all(connection=redis)) < count:
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.2)

    def kill(self, name: str) -> None:
        import signal

        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        import signal

        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except Exception:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("worker-*.log")))


@pytest.fixture
def workers(settings: Settings, tmp_path: Path, redis_client: Any) -> Iterator[Workers]:
    pool = Workers(settings, tmp_path)
    yield pool
    pool.stop_all()
