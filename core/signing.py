"""Signed file URLs: a browser's <img> and <a> cannot send a bearer token, so the API hands
out URLs that carry the viewer and an expiry, signed with the secret key. The file route still
checks, at download time, that this viewer may read the file."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

URL_LIFETIME = 3600


def _signature(secret: str, path: str, viewer_id: int, expires: int) -> str:
    message = f"{path}\n{viewer_id}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_path(secret: str, path: str, viewer_id: int, lifetime: int = URL_LIFETIME) -> str:
    """``path`` with a query string that lets ``viewer_id`` fetch it until it expires."""
    expires = int(time.time()) + lifetime
    query = urlencode(
        {"viewer": viewer_id, "expires": expires,
         "signature": _signature(secret, path, viewer_id, expires)}
    )  # fmt: skip
    return f"{path}?{query}"


def verify(secret: str, path: str, viewer: str, expires: str, signature: str) -> int | None:
    """The viewer id a valid, unexpired signature was made for; None otherwise."""
    try:
        viewer_id, expiry = int(viewer), int(expires)
    except ValueError:
        return None
    if expiry < time.time():
        return None
    expected = _signature(secret, path, viewer_id, expiry)
    return viewer_id if hmac.compare_digest(expected, signature) else None
