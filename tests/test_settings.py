"""Settings: defaults, and one clear line naming the variable for every bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archivist.core.settings import SettingsError, load_settings


def test_defaults_need_no_service(tmp_path: Path) -> None:
    settings = load_settings({"ARCHIVIST_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'archivist.sqlite3'}"
    assert settings.redis_url is None
    assert settings.search_backend == "xapian"
    assert settings.ocr_engine == "easyocr"
    assert settings.debug is False


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings({"ARCHIVIST_DATA_DIR": str(tmp_path)}).secret_key
    second = load_settings({"ARCHIVIST_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "DATABASE_URL",
            "oracle://db/x",
            "ARCHIVIST_DATABASE_URL: unknown database scheme 'oracle' in 'oracle://db/x' "
            "(use sqlite:///path, postgresql://user@host/db or mysql://user@host/db)",
        ),
        (
            "DATABASE_URL",
            "postgresql://host",
            "ARCHIVIST_DATABASE_URL: no database name in 'postgresql://host'",
        ),
        (
            "REDIS_URL",
            "http://localhost",
            "ARCHIVIST_REDIS_URL: 'http://localhost' is not a Redis URL "
            "(use redis://host:6379/0 or unix:///path/to/redis.sock)",
        ),
        ("DEBUG", "maybe", "ARCHIVIST_DEBUG: expected true or false, got 'maybe'"),
        ("PORT", "eighty", "ARCHIVIST_PORT: expected a whole number, got 'eighty'"),
        (
            "SEARCH_BACKEND",
            "solr",
            "ARCHIVIST_SEARCH_BACKEND: 'solr' is not one of xapian, whoosh",
        ),
        (
            "XAPIAN_REMOTE",
            "index.internal",
            "ARCHIVIST_XAPIAN_REMOTE: 'index.internal' is not host:port "
            "(use e.g. index.internal:8100)",
        ),
        (
            "XAPIAN_REMOTE_TIMEOUT",
            "0",
            "ARCHIVIST_XAPIAN_REMOTE_TIMEOUT: must be at least 1, got 0",
        ),
        ("SEARCH_EXACT_COUNT", "0", "ARCHIVIST_SEARCH_EXACT_COUNT: must be at least 1, got 0"),
        ("SECRET_KEY", "short", "ARCHIVIST_SECRET_KEY: must be at least 16 characters long"),
        (
            "MAX_UPLOAD_PIXELS",
            "1000",
            "ARCHIVIST_MAX_UPLOAD_PIXELS: must be at least 1000000, got 1000",
        ),
        (
            "MAX_UPLOAD_PAGES",
            "many",
            "ARCHIVIST_MAX_UPLOAD_PAGES: expected a whole number, got 'many'",
        ),
        ("RENDER_MEMORY", "10", "ARCHIVIST_RENDER_MEMORY: must be at least 64, got 10"),
        ("RENDER_TIMEOUT", "0", "ARCHIVIST_RENDER_TIMEOUT: must be at least 1, got 0"),
        (
            "RETRY_INTERVALS",
            "5,soon",
            "ARCHIVIST_RETRY_INTERVALS: expected seconds separated by commas, like 5,30,120; "
            "got '5,soon'",
        ),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"ARCHIVIST_DATA_DIR": str(tmp_path), f"ARCHIVIST_{name}": value})
    assert str(raised.value) == message


def test_a_remote_index_is_xapian_only(tmp_path: Path) -> None:
    env = {"ARCHIVIST_DATA_DIR": str(tmp_path), "ARCHIVIST_XAPIAN_REMOTE": "[::1]:8100"}
    settings = load_settings(env)
    assert (settings.xapian_remote, settings.xapian_remote_timeout) == ("[::1]:8100", 10)
    with pytest.raises(SettingsError, match="ARCHIVIST_XAPIAN_REMOTE: a remote index needs"):
        load_settings({**env, "ARCHIVIST_SEARCH_BACKEND": "whoosh"})
    assert load_settings({"ARCHIVIST_DATA_DIR": str(tmp_path)}).xapian_remote is None


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archivist.core.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unknown_database_scheme_stops_startup_with_one_line(tmp_path: Path) -> None:
    result = run_cli(
        {"ARCHIVIST_DATA_DIR": str(tmp_path), "ARCHIVIST_DATABASE_URL": "mongodb://x/y"},
        "serve",
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "archivist serve: ARCHIVIST_DATABASE_URL: unknown database scheme 'mongodb' in "
        "'mongodb://x/y' (use sqlite:///path, postgresql://user@host/db or mysql://user@host/db)"
    ]


def test_unreachable_redis_stops_startup_with_one_line(tmp_path: Path) -> None:
    result = run_cli(
        {"ARCHIVIST_DATA_DIR": str(tmp_path), "ARCHIVIST_REDIS_URL": "redis://127.0.0.1:1/0"},
        "worker",
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "archivist worker: ARCHIVIST_REDIS_URL: cannot connect to redis://127.0.0.1:1/0: "
    )


def test_unreachable_database_stops_startup_with_one_line(tmp_path: Path) -> None:
    result = run_cli(
        {
            "ARCHIVIST_DATA_DIR": str(tmp_path),
            "ARCHIVIST_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test",
        },
        "migrate",
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("archivist migrate: ARCHIVIST_DATABASE_URL: cannot connect: ")
