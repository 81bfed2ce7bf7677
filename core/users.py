"""Users, passwords, bearer tokens and login throttling.

Passwords are hashed with argon2. Tokens are random, shown once, and stored only as their
SHA-256 (a token has 256 bits of entropy, so a slow hash adds nothing). Failed logins are
counted per username in the database, so throttling holds across API processes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import IntegrityError, fn

from archivist.core.db import database, utcnow
from archivist.core.errors import UserFacingError
from archivist.core.models import AccessToken, LoginAttempt, Membership, Node, User
from archivist.core.settings import Settings

_hasher = PasswordHasher()
# Verified against when the username does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Viewer:
    """Who is asking: what resolvers and permission checks need, detached from any connection."""

    id: int
    username: str
    is_superuser: bool
    group_ids: frozenset[int]

    @property
    def principals(self) -> tuple[str, ...]:
        """The reader terms this viewer matches in the search index."""
        return (f"user:{self.id}", *(f"group:{gid}" for gid in sorted(self.group_ids)))


class AuthenticationError(UserFacingError):
    """The request carries no usable credentials."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """Raises UserFacingError(WEAK_PASSWORD) for a password too short to keep."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserFacingError(
            "WEAK_PASSWORD",
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            "password",
        )


def create_user(
    username: str, password: str, *, email: str | None = None, superuser: bool = False
) -> User:
    """Create a user with their Home and Inbox folders.

    Raises UserFacingError: USERNAME_TAKEN, INVALID_USERNAME or WEAK_PASSWORD.
    """
    username = username.strip()
    if not username or len(username) > 150 or any(ch.isspace() for ch in username):
        raise UserFacingError(
            "INVALID_USERNAME",
            "A username is 1 to 150 characters long, without spaces.",
            "username",
        )
    check_password_strength(password)
    try:
        with database.atomic():
            user = User.create(
                username=username,
                email=email,
                password_hash=hash_password(password),
                is_superuser=superuser,
            )
            for special, title in ((Node.HOME, "Home"), (Node.INBOX, "Inbox")):
                Node.create(kind=Node.FOLDER, title=title, owner_user=user, special=special)
    except IntegrityError:
        raise UserFacingError(
            "USERNAME_TAKEN", f"The username {username!r} is already taken.", "username"
        ) from None
    return user


def viewer_for(user: User) -> Viewer:
    groups = frozenset(
        row.group_id for row in Membership.select(Membership.group).where(Membership.user == user)
    )
    return Viewer(user.id, user.username, user.is_superuser, groups)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _recent_failures(username: str, since: datetime) -> list[LoginAttempt]:
    """Failed tries for ``username`` since the last success within the window."""
    attempts = list(
        LoginAttempt.select()
        .where((LoginAttempt.username == username) & (LoginAttempt.attempted_at >= since))
        .order_by(LoginAttempt.attempted_at.desc(), LoginAttempt.id.desc())
    )
    failures = []
    for attempt in attempts:
        if attempt.succeeded:
            break
        failures.append(attempt)
    return failures


def login(
    settings: Settings, username: str, password: str, remote_addr: str | None = None
) -> tuple[str, AccessToken, User]:
    """Check the password and issue a token: returns (token, its row, the user).

    Raises UserFacingError: TOO_MANY_ATTEMPTS while the username is throttled,
    INVALID_CREDENTIALS for a wrong username or password or an inactive user.
    """
    username = username.strip()[:150]
    now = utcnow()
    window = timedelta(seconds=settings.login_lockout_seconds)
    failures = _recent_failures(username, now - window)
    if len(failures) >= settings.login_max_failures:
        retry_at = failures[settings.login_max_failures - 1].attempted_at + window
        minutes = max(1, round((retry_at - now).total_seconds() / 60))
        raise UserFacingError(
            "TOO_MANY_ATTEMPTS",
            f"Too many failed logins for this username; try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
        )
    user = User.get_or_none(User.username == username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.is_active
    except (VerificationError, InvalidHashError):
        ok = False
    LoginAttempt.create(username=username, succeeded=ok, remote_addr=remote_addr)
    if not ok or user is None:
        raise UserFacingError("INVALID_CREDENTIALS", "Wrong username or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
    token = secrets.token_urlsafe(32)
    row = AccessToken.create(
        user=user,
        token_hash=_token_hash(token),
        expires_at=now + timedelta(seconds=settings.token_ttl_seconds),
    )
    return token, row, user


def authenticate_token(token: str) -> Viewer:
    """The viewer a bearer token belongs to.

    Raises AuthenticationError: INVALID_TOKEN, TOKEN_EXPIRED or TOKEN_REVOKED.
    """
    row = (
        AccessToken.select(AccessToken, User)
        .join(User)
        .where(AccessToken.token_hash == _token_hash(token))
        .first()
    )
    if row is None or not row.user.is_active:
        raise AuthenticationError("INVALID_TOKEN", "Invalid token: log in again.")
    if row.revoked_at is not None:
        raise AuthenticationError(
            "TOKEN_REVOKED", "This token was revoked by logging out: log in again."
        )
    if row.expires_at <= utcnow():
        raise AuthenticationError("TOKEN_EXPIRED", "Your session has expired: log in again.")
    return viewer_for(row.user)


def revoke_token(token: str) -> bool:
    """Revoke a token (logout); returns whether a live token was revoked."""
    count: int = (
        AccessToken.update(revoked_at=utcnow())
        .where((AccessToken.token_hash == _token_hash(token)) & AccessToken.revoked_at.is_null())
        .execute()
    )
    return count > 0


def prune_login_attempts(older_than: timedelta = timedelta(days=7)) -> int:
    """Delete old login attempts; returns how many."""
    count: int = (
        LoginAttempt.delete().where(LoginAttempt.attempted_at < utcnow() - older_than).execute()
    )
    return count


def user_count() -> int:
    return int(User.select(fn.COUNT(User.id)).scalar() or 0)
