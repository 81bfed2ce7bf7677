"""``archivist createuser`` and ``archivist migrate`` as a person runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import settings_env

from archivist.core.db import database
from archivist.core.models import Node, User
from archivist.core.settings import Settings


def archivist(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = settings_env(settings.data_dir, settings.database_url)
    return subprocess.run(
        [sys.executable, "-m", "archivist.core.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_createuser_with_flags_makes_home_and_inbox(settings: Settings) -> None:
    result = archivist(
        settings, "createuser", "--username", "carol", "--password-stdin", "--superuser",
        stdin="a long password\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Created superuser 'carol' with a Home and an Inbox folder."
    with database.connection_context():
        user = User.get(User.username == "carol")
        assert user.is_superuser
        folders = {n.special: n.title for n in Node.select().where(Node.owner_user == user)}
    assert folders == {"home": "Home", "inbox": "Inbox"}


def test_createuser_refuses_a_taken_username_and_a_short_password(settings: Settings) -> None:
    assert (
        archivist(
            settings, "createuser", "--username", "dan", "--password", "longenough"
        ).returncode
        == 0
    )
    taken = archivist(settings, "createuser", "--username", "dan", "--password", "longenough")
    assert (taken.returncode, taken.stderr.strip()) == (
        1,
        "archivist createuser: The username 'dan' is already taken.",
    )
    short = archivist(settings, "createuser", "--username", "eve", "--password", "short")
    assert (short.returncode, short.stderr.strip()) == (
        1,
        "archivist createuser: The password must be at least 8 characters long.",
    )


def test_createuser_without_a_terminal_asks_for_flags(settings: Settings) -> None:
    result = archivist(settings, "createuser", "--username", "fay")
    assert result.returncode == 1
    assert "Give --password or --password-stdin" in result.stderr


def test_migrate_on_an_up_to_date_database(settings: Settings) -> None:
    result = archivist(settings, "migrate")
    assert (result.returncode, result.stdout.strip()) == (0, "The database is up to date.")


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in ("serve", "worker", "run", "import", "consume", "migrate", "createuser"):
        result = subprocess.run(
            [sys.executable, "-m", "archivist.core.cli", command, "--help"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0 and "usage: archivist" in result.stdout, command


def test_index_compact_compacts_a_local_index_and_explains_a_remote_one(
    settings: Settings,
) -> None:
    done = archivist(settings, "index", "compact")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Compacted the xapian index at")
    env = settings_env(settings.data_dir, settings.database_url)
    env["ARCHIVIST_XAPIAN_REMOTE"] = "127.0.0.1:9"  # never connected to: nothing to compact
    remote = subprocess.run(
        [sys.executable, "-m", "archivist.core.cli", "index", "compact"],
        env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert remote.returncode == 1
    assert "xapian-compact" in remote.stderr
