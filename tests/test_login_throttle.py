"""Login throttling: per username from one address, per address, atomic under concurrency."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import TEST_PASSWORD

from archivist.core.db import database, with_connection
from archivist.core.errors import UserFacingError
from archivist.core.models import LoginAttempt
from archivist.core.settings import Settings
from archivist.core.users import login

STRANGER = "203.0.113.66"
OWNER = "198.51.100.7"


def attempt(settings: Settings, username: str, password: str, address: str) -> str:
    """The outcome of one login: OK or the error code."""
    try:
        with_connection(login)(settings, username, password, address)
    except UserFacingError as error:
        return error.code
    return "OK"


def test_a_stranger_cannot_lock_the_owner_out(settings: Settings, make_user) -> None:
    make_user("admin")
    for _ in range(10):  # the test settings allow 3 failures
        attempt(settings, "admin", "guess", STRANGER)
    assert attempt(settings, "admin", TEST_PASSWORD, STRANGER) == "TOO_MANY_ATTEMPTS"
    assert attempt(settings, "admin", TEST_PASSWORD, OWNER) == "OK"
    # The stranger's guesses stopped at the limit: only 3 passwords were checked.
    with database.connection_context():
        checked = LoginAttempt.select().where(LoginAttempt.remote_addr == STRANGER).count()
    assert checked == 3


def test_one_address_guessing_many_usernames_is_throttled(settings: Settings, make_user) -> None:
    settings = dataclasses.replace(settings, login_max_failures_per_address=5)
    make_user("alice")
    outcomes = [attempt(settings, f"user{i}", "guess", STRANGER) for i in range(8)]
    assert outcomes == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"] * 3
    try:
        with_connection(login)(settings, "alice", TEST_PASSWORD, STRANGER)
    except UserFacingError as error:
        assert error.message.startswith("Too many failed logins from your address")
    else:
        pytest.fail("the address should be throttled")
    assert attempt(settings, "alice", TEST_PASSWORD, OWNER) == "OK"


def test_successes_give_their_address_slot_back(settings: Settings, make_user) -> None:
    settings = dataclasses.replace(settings, login_max_failures_per_address=3)
    make_user("alice")
    for _ in range(10):  # an office behind one address, logging in all day
        assert attempt(settings, "alice", TEST_PASSWORD, OWNER) == "OK"
    assert attempt(settings, "bob", "guess", OWNER) == "INVALID_CREDENTIALS"


def test_concurrent_guesses_cannot_exceed_the_limit(settings: Settings, make_user) -> None:
    make_user("alice")
    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(
            pool.map(lambda _: attempt(settings, "alice", "guess", STRANGER), range(24))
        )
    assert sorted(outcomes).count("INVALID_CREDENTIALS") == 3, outcomes
    assert outcomes.count("TOO_MANY_ATTEMPTS") == 21
    with database.connection_context():
        assert LoginAttempt.select().count() == 3  # 3 password checks, not 24
