"""Signed file URLs: a browser's <img> and <a> cannot send a bearer token, so the API hands
out URLs that carry the viewer and an expiry, signed with the secret key. The file route still
checks, at download time, that this viewer may read the file.

Expiries are rounded up to the end of the window after the current one (``window`` seconds,
an hour by default), so every URL handed out within one window is the same string (a browser
and Apollo's cache keep the image they have) and stays valid for one to two windows.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

DEFAULT_WINDOW = 3600


class ExpiredURL(Exception):
    """The signature is right, but its time is up: the client should ask for a fresh URL."""


def url_expiry(window: int = DEFAULT_WINDOW, now: float | None = None) -> int:
    """When a URL signed at ``now`` expires (Unix seconds): the end of the next window."""
    now = time.time() if now is None else now
    return (int(now) // window + 2) * window


def _signature(secret: str, path: str, viewer_id: int, expires: int) -> str:
    message = f"{path}\n{viewer_id}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_path(secret: str, path: str, viewer_id: int, expires: int | None = None) -> str:
    """``path`` with a query string that lets ``viewer_id`` fetch it until ``expires``
    (default: :func:`url_expiry` of now)."""
    expires = url_expiry() if expires is None else expires
    query = urlencode(
        {"viewer": viewer_id, "expires": expires,
         "signature": _signature(secret, path, viewer_id, expires)}
    )  # fmt: skip
    return f"{path}?{query}"


def verify(secret: str, path: str, viewer: str, expires: str, signature: str) -> int | None:
    """The viewer id a valid, unexpired signature was made for; None for a wrong one.

    Raises ExpiredURL: the signature is right but expired (only someone who was given the URL
    can tell, so saying so reveals nothing).
    """
    try:
        viewer_id, expiry = int(viewer), int(expires)
    except ValueError:
        return None
    expected = _signature(secret, path, viewer_id, expiry)
    if not hmac.compare_digest(expected, signature):
        return None
    if expiry < time.time():
        raise ExpiredURL()
    return viewer_id
