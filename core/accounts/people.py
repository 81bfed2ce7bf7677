"""Accounts over the API: administrators make, change, deactivate and delete them; everyone
changes their own password and manages their own tokens (named API tokens for scripts).

Deactivating an account or resetting its password revokes its tokens at once; changing your
own password revokes every token but the one you used. Administrators administer accounts
but read no one's documents (see core/permissions.py).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from peewee import IntegrityError

from archivist.core.accounts.audit import record
from archivist.core.accounts.handover import hand_over
from archivist.core.accounts.roles import ensure_builtin_roles, give_roles
from archivist.core.db import database, utcnow
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.ids import decode_id
from archivist.core.models import AccessToken, Group, Role, User
from archivist.core.permissions import DEFAULT_ROLE, require_permission
from archivist.core.users import (
    Viewer,
    check_password_strength,
    create_user,
    hash_password,
    token_hash,
    verify_password,
)

# The longest a named API token may live.
MAX_TOKEN_DAYS = 3650


def get_user(viewer: Viewer, user_id: str, field: str = "id") -> User:
    """An account: yourself, or anyone with ``user.view``; raises NotFound."""
    _, row_id = decode_id(user_id, ("User",), field)
    if row_id != viewer.id and "user.view" not in viewer.permissions:
        raise NotFound("user", field)
    user = User.get_or_none(User.id == row_id)
    if user is None:
        raise NotFound("user", field)
    return user


def recipient(user_id: str | None, group_id: str | None) -> tuple[int | None, int | None]:
    """Who documents are handed to: exactly one of a user and a group (ids of the API)."""
    if (user_id is None) == (group_id is None):
        raise UserFacingError(
            "HAND_TO_REQUIRED", "Name one user or one group to hand the documents to.", "handTo"
        )
    if user_id is not None:
        _, row = decode_id(user_id, ("User",), "handToUserId")
        if not User.select().where(User.id == row).exists():
            raise NotFound("user", "handToUserId")
        return row, None
    _, row = decode_id(group_id, ("Group",), "handToGroupId")
    if not Group.select().where(Group.id == row).exists():
        raise NotFound("group", "handToGroupId")
    return None, row


def add_user(
    viewer: Viewer, username: str, password: str, email: str | None, roles: list[Role] | None
) -> User:
    """A new account with Home and Inbox; roles default to Editor."""
    require_permission(viewer, "user.create")
    with database.atomic():
        user = create_user(username, password, email=email, roles=roles)
        names = sorted(r.name for r in roles) if roles is not None else [DEFAULT_ROLE]
        record(viewer, "user.create", user_id=user.id, username=user.username, roles=names)
    return user


def _revoke_all(user_id: int, keep: int | None = None) -> int:
    query = AccessToken.update(revoked_at=utcnow()).where(
        (AccessToken.user == user_id) & AccessToken.revoked_at.is_null()
    )
    if keep is not None:
        query = query.where(AccessToken.id != keep)
    count: int = query.execute()
    return count


def update_user(
    viewer: Viewer,
    user_id: str,
    username: str | None = None,
    email: str | None = None,
    active: bool | None = None,
) -> User:
    """Change an account; deactivating it revokes its tokens at once (open websockets close
    at their next check). You cannot deactivate yourself."""
    require_permission(viewer, "user.update")
    user = get_user(viewer, user_id)
    changes: dict[str, object] = {}
    if username is not None:
        name = username.strip()
        if not name or len(name) > 150 or any(ch.isspace() for ch in name):
            raise UserFacingError(
                "INVALID_USERNAME", "A username is 1 to 150 characters long, without spaces.",
                "username",
            )  # fmt: skip
        changes["username"] = name
    if email is not None:
        changes["email"] = email.strip() or None
    if active is not None:
        if not active and user.id == viewer.id:
            raise UserFacingError("CANNOT_DEACTIVATE_SELF", "You cannot deactivate yourself.")
        changes["is_active"] = active
    old = {key: getattr(user, key) for key in changes}
    try:
        with database.atomic():
            if changes:
                User.update(**changes).where(User.id == user.id).execute()
            if active is False:
                _revoke_all(user.id)
            record(viewer, "user.update", user_id=user.id, old=old, new=changes)
    except IntegrityError:
        raise UserFacingError(
            "USERNAME_TAKEN", f"The username '{changes.get('username')}' is already taken.",
            "username",
        ) from None  # fmt: skip
    return User.get_by_id(user.id)


def delete_user(viewer: Viewer, user_id: str, hand_to: tuple[int | None, int | None]) -> int:
    """Delete an account; its folders and documents go to ``hand_to`` first (its tags and
    document types go with the account). You cannot delete yourself."""
    require_permission(viewer, "user.delete")
    user = get_user(viewer, user_id)
    if user.id == viewer.id:
        raise UserFacingError("CANNOT_DEACTIVATE_SELF", "You cannot delete yourself.")
    with database.atomic():
        hand_over((user.id, None), hand_to, user.username)
        user.delete_instance(recursive=False)  # its Home, Inbox, tokens and shares cascade
        record(viewer, "user.delete", user_id=user.id, username=user.username)
    return int(user.id)


def reset_password(viewer: Viewer, user_id: str, password: str) -> User:
    """Set someone's password (they forgot it); their tokens are revoked."""
    require_permission(viewer, "user.update")
    user = get_user(viewer, user_id)
    check_password_strength(password)
    with database.atomic():
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
        _revoke_all(user.id, keep=viewer.token_id if user.id == viewer.id else None)
        record(viewer, "user.reset_password", user_id=user.id)
    return user


def change_password(viewer: Viewer, old_password: str, new_password: str) -> int:
    """Change your own password (the old one is required); every other token of yours is
    revoked. Returns how many."""
    user = User.get_by_id(viewer.id)
    if not verify_password(user.password_hash, old_password):
        raise UserFacingError("INVALID_CREDENTIALS", "The old password is wrong.", "oldPassword")
    check_password_strength(new_password)
    with database.atomic():
        User.update(password_hash=hash_password(new_password)).where(User.id == user.id).execute()
        revoked = _revoke_all(user.id, keep=viewer.token_id)
        record(viewer, "user.change_password", user_id=user.id, tokens_revoked=revoked)
    return revoked


def own_tokens(viewer: Viewer) -> list[AccessToken]:
    """Your live tokens (neither revoked nor expired), newest first."""
    return list(
        AccessToken.select()
        .where(
            (AccessToken.user == viewer.id)
            & AccessToken.revoked_at.is_null()
            & (AccessToken.expires_at > utcnow())
        )
        .order_by(AccessToken.id.desc())
    )


def create_api_token(viewer: Viewer, name: str, days: int) -> tuple[str, AccessToken]:
    """A named token for a script, valid ``days`` days; the token is shown only now."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 100:
        raise UserFacingError("INVALID_NAME", "A token's name is 1 to 100 characters.", "name")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UserFacingError(
            "INVALID_EXPIRY", f"A token lives 1 to {MAX_TOKEN_DAYS} days.", "expiresInDays"
        )
    token = secrets.token_urlsafe(32)
    with database.atomic():
        row: AccessToken = AccessToken.create(
            user=viewer.id, token_hash=token_hash(token), name=cleaned,
            expires_at=utcnow() + timedelta(days=days),
        )  # fmt: skip
        record(viewer, "token.create", name=cleaned, days=days)
    return token, row


def revoke_own_token(viewer: Viewer, token_id: str) -> AccessToken:
    """Revoke one of your tokens (the one in use too: that is logging out)."""
    _, row_id = decode_id(token_id, ("AccessToken",), "id")
    row = AccessToken.get_or_none((AccessToken.id == row_id) & (AccessToken.user == viewer.id))
    if row is None:
        raise NotFound("token", "id")
    with database.atomic():
        AccessToken.update(revoked_at=utcnow()).where(
            (AccessToken.id == row.id) & AccessToken.revoked_at.is_null()
        ).execute()
        record(viewer, "token.revoke", name=row.name)
    return AccessToken.get_by_id(row.id)


def all_users(viewer: Viewer) -> list[User]:
    require_permission(viewer, "user.view")
    return list(User.select().order_by(User.username))


__all__ = ["ensure_builtin_roles", "give_roles"]
