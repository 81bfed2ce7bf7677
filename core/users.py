"""Users, passwords, bearer tokens and login throttling.

Passwords are hashed with argon2. Tokens are random, shown once, and stored only as their
SHA-256 (a token has 256 bits of entropy, so a slow hash adds nothing).

Login throttling counts failures in the database (so it holds across API processes) per
username *from one client address*, and per address over all usernames: a stranger who
guesses at ``admin`` locks out only their own address, never the owner at theirs. Each try
claims its slot before the password is checked, with one conditional UPDATE that no
concurrent try can overtake, so concurrent tries cannot exceed the limit; a success gives
the slots back. Every try is also kept in ``LoginAttempt`` (pruned after a week).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import SQL, IntegrityError, fn

from archivist.core.db import database, execute_cached, utcnow
from archivist.core.errors import UserFacingError
from archivist.core.models import (
    AccessToken,
    GroupRole,
    LoginAttempt,
    LoginThrottle,
    Membership,
    Node,
    Role,
    Share,
    User,
    UserRole,
)
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
    # What the viewer's roles allow (given directly and through groups), on their own and
    # their groups' things; and the nodes shared with them, each with what its shares allow.
    # Decided upon by archivist.core.permissions, nowhere else.
    permissions: frozenset[str] = frozenset()
    shares: tuple[tuple[int, frozenset[str]], ...] = ()
    token_id: int | None = None  # the token this request came with

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


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    username: str,
    password: str,
    *,
    email: str | None = None,
    superuser: bool = False,
    roles: list[Role] | None = None,
) -> User:
    """Create a user with their Home and Inbox folders and their roles: ``roles``, or by
    default Editor (a superuser also Administrator).

    Raises UserFacingError: USERNAME_TAKEN, INVALID_USERNAME or WEAK_PASSWORD.
    """
    from archivist.core.accounts.roles import ensure_builtin_roles, give_roles  # a cycle

    builtin = ensure_builtin_roles()
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
            if roles is None:
                roles = [builtin["Editor"], *([builtin["Administrator"]] if superuser else [])]
            give_roles(user.id, roles)
    except IntegrityError:
        raise UserFacingError(
            "USERNAME_TAKEN", f"The username '{username}' is already taken.", "username"
        ) from None
    return user


def _viewer_facts(uid: Any) -> Any:
    """One query for a user's groups (1), roles' permissions (2) and shares (3)."""
    their_groups = Membership.select(Membership.group).where(Membership.user == uid)
    groups_of = Membership.select(SQL("1"), Membership.group, SQL("NULL")).where(
        Membership.user == uid
    )
    roles_of = Role.select(SQL("2"), SQL("NULL"), Role.permissions).where(
        Role.id.in_(UserRole.select(UserRole.role).where(UserRole.user == uid))
        | Role.id.in_(GroupRole.select(GroupRole.role).where(GroupRole.group.in_(their_groups)))
    )
    shares_of = (
        Share.select(SQL("3"), Share.node, Role.permissions)
        .join(Role)
        .where((Share.user == uid) | Share.group.in_(their_groups))
    )
    return groups_of + roles_of + shares_of


def viewer_for(user: User, token_id: int | None = None) -> Viewer:
    """Who ``user`` is to the access checks: groups, roles' permissions and shares (one
    query, whatever they hold: it runs for every request)."""
    groups: set[int] = set()
    permissions: set[str] = set()
    shared: dict[int, frozenset[str]] = {}
    for kind, ref, allowed in execute_cached("viewer", _viewer_facts, int(user.id), -7):
        if int(kind) == 1:
            groups.add(int(ref))
        elif int(kind) == 2:
            permissions.update(str(allowed).split())
        else:
            node_id = int(ref)
            shared[node_id] = shared.get(node_id, frozenset()) | frozenset(str(allowed).split())
    return Viewer(
        user.id, user.username, user.is_superuser, frozenset(groups), frozenset(permissions),
        tuple(sorted(shared.items())), token_id,
    )  # fmt: skip


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _throttle_key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _claim(key: str, limit: int, window: timedelta, now: datetime) -> datetime | None:
    """Count one try against ``key``; returns None, or when the key's window started if it
    is full. Each step is one statement, atomic on its own in every database."""
    LoginThrottle.insert(key=key, failures=0, window_started=now).on_conflict_ignore().execute()
    LoginThrottle.update(failures=0, window_started=now).where(
        (LoginThrottle.key == key) & (LoginThrottle.window_started <= now - window)
    ).execute()
    claimed = (
        LoginThrottle.update(failures=LoginThrottle.failures + 1)
        .where((LoginThrottle.key == key) & (LoginThrottle.failures < limit))
        .execute()
    )
    if claimed:
        return None
    row = LoginThrottle.get_or_none(LoginThrottle.key == key)
    return row.window_started if row is not None else now


def _give_back(key: str) -> None:
    LoginThrottle.update(failures=LoginThrottle.failures - 1).where(
        (LoginThrottle.key == key) & (LoginThrottle.failures > 0)
    ).execute()


def _too_many(started: datetime, window: timedelta, now: datetime, whose: str) -> UserFacingError:
    minutes = max(1, round((started + window - now).total_seconds() / 60))
    return UserFacingError(
        "TOO_MANY_ATTEMPTS",
        f"Too many failed logins {whose}; try again in {minutes} minute"
        f"{'s' if minutes != 1 else ''}.",
    )


def login(
    settings: Settings, username: str, password: str, remote_addr: str | None = None
) -> tuple[str, AccessToken, User]:
    """Check the password and issue a token: returns (token, its row, the user).

    Raises UserFacingError: TOO_MANY_ATTEMPTS while this username is throttled from this
    address (``login_max_failures`` per window) or this address is throttled
    (``login_max_failures_per_address``), INVALID_CREDENTIALS for a wrong username or
    password or an inactive user.
    """
    username = username.strip()[:150]
    address = (remote_addr or "unknown")[:64]
    now = utcnow()
    window = timedelta(seconds=settings.login_lockout_seconds)
    pair_key = _throttle_key("user", username, address)
    address_key = _throttle_key("address", address)
    started = _claim(pair_key, settings.login_max_failures, window, now)
    if started is not None:
        raise _too_many(started, window, now, "for this username from your address")
    started = _claim(address_key, settings.login_max_failures_per_address, window, now)
    if started is not None:
        _give_back(pair_key)
        raise _too_many(started, window, now, "from your address")
    user = User.get_or_none(User.username == username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.is_active
    except (VerificationError, InvalidHashError):
        ok = False
    LoginAttempt.create(username=username, succeeded=ok, remote_addr=remote_addr)
    if not ok or user is None:
        raise UserFacingError("INVALID_CREDENTIALS", "Wrong username or password.")
    # A success clears this username's count from this address and gives its slot back.
    LoginThrottle.update(failures=0).where(LoginThrottle.key == pair_key).execute()
    _give_back(address_key)
    if _hasher.check_needs_rehash(user.password_hash):
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
    token = secrets.token_urlsafe(32)
    row = AccessToken.create(
        user=user,
        token_hash=token_hash(token),
        expires_at=now + timedelta(seconds=settings.token_ttl_seconds),
    )
    return token, row, user


def token_expiry(token: str) -> datetime | None:
    """When ``token`` expires; None for a token we do not know."""
    row = AccessToken.get_or_none(AccessToken.token_hash == token_hash(token))
    return row.expires_at if row is not None else None


def _token_row(hashed: Any) -> Any:
    return (
        AccessToken.select(
            AccessToken.id,
            AccessToken.revoked_at,
            AccessToken.expires_at,
            User.id,
            User.username,
            User.is_superuser,
            User.is_active,
        )
        .join(User)
        .where(AccessToken.token_hash == hashed)  # unique: one row at most
    )


def authenticate_token(token: str) -> Viewer:
    """The viewer a bearer token belongs to: one lookup by the token's (unique, indexed)
    hash, one query for what the user may do.

    Raises AuthenticationError: INVALID_TOKEN, TOKEN_EXPIRED or TOKEN_REVOKED.
    """
    row = execute_cached("token", _token_row, token_hash(token), "-").fetchone()
    if row is None or not User.is_active.python_value(row[6]):
        raise AuthenticationError("INVALID_TOKEN", "Invalid token: log in again.")
    token_id, revoked_at, expires_at, user_id, username, is_superuser = row[:6]
    if revoked_at is not None:
        raise AuthenticationError(
            "TOKEN_REVOKED", "This token was revoked by logging out: log in again."
        )
    if AccessToken.expires_at.python_value(expires_at) <= utcnow():
        raise AuthenticationError("TOKEN_EXPIRED", "Your session has expired: log in again.")
    user = User(
        id=user_id, username=username, is_superuser=User.is_superuser.python_value(is_superuser)
    )
    return viewer_for(user, int(token_id))


def revoke_token(token: str) -> bool:
    """Revoke a token (logout); returns whether a live token was revoked."""
    count: int = (
        AccessToken.update(revoked_at=utcnow())
        .where((AccessToken.token_hash == token_hash(token)) & AccessToken.revoked_at.is_null())
        .execute()
    )
    return count > 0


def prune_login_attempts(older_than: timedelta = timedelta(days=7)) -> int:
    """Delete old login attempts and throttle counts; returns how many attempts."""
    cutoff = utcnow() - older_than
    LoginThrottle.delete().where(LoginThrottle.window_started < cutoff).execute()
    count: int = LoginAttempt.delete().where(LoginAttempt.attempted_at < cutoff).execute()
    return count


def user_count() -> int:
    return int(User.select(fn.COUNT(User.id)).scalar() or 0)
