"""Idempotency keys of uploads: a retried upload gives the first one's document again.

A client that sends an upload and loses the answer (a network error, a closed tab) cannot know
whether the document was made. Sent with an ``idempotencyKey``, the same upload again from the
same user within :data:`WINDOW` gives back the document the first one made, instead of a second
copy titled ``Title (2)``. The key is held in the same transaction as the document it names,
so two uploads with one key at the same moment make one document: the second waits for the
first's commit, meets the key, and answers with its document.

The key names one upload; the file sent with a repeat is not compared with the first.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from archivist.core.db import utcnow
from archivist.core.errors import UserFacingError
from archivist.core.models import UploadKey
from archivist.core.users import Viewer

WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def key_digest(key: str) -> str:
    """What is stored of a client's key; raises UserFacingError(INVALID_IDEMPOTENCY_KEY)."""
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise UserFacingError(
            "INVALID_IDEMPOTENCY_KEY",
            f"An idempotency key is 1 to {MAX_KEY_LENGTH} characters long.",
            "idempotencyKey",
        )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def earlier_upload(viewer: Viewer, digest: str) -> int | None:
    """The document an upload with this key made within the window, if any."""
    row = UploadKey.get_or_none(
        (UploadKey.user == viewer.id)
        & (UploadKey.key == digest)
        & (UploadKey.created_at > utcnow() - WINDOW)
    )
    return int(row.document_id) if row is not None else None


def hold_key(viewer: Viewer, digest: str, document_id: int) -> None:
    """Record that the key made ``document_id`` (inside the upload's transaction); an expired
    row of the same key gives way. Raises IntegrityError when a live upload holds the key."""
    now = utcnow()
    UploadKey.delete().where(
        (UploadKey.user == viewer.id) & (UploadKey.created_at <= now - WINDOW)
    ).execute()
    UploadKey.create(user=viewer.id, key=digest, document=document_id, created_at=now)
