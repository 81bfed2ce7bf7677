"""How errors reach clients: what a person can fix is said; a bug says nothing of itself.

A :class:`UserFacingError` keeps its message and gets its code in ``extensions.code``. Syntax
and validation errors are already client-facing. The database being unreachable (down, cut
off, out of connections) is said as such, coded ``DATABASE_UNAVAILABLE``: the client may try
again, and the log gets one line per outage, not a traceback per request. Anything else becomes
"Internal server error" (the details go to the log, and to the client only when debug is on).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ariadne import format_error as ariadne_format_error
from ariadne import unwrap_graphql_error
from graphql import GraphQLError
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from archivist.core.errors import UserFacingError

logger = logging.getLogger("archivist.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; try again in a moment."
# Errors a database that is down or unreachable raises (not a bad query: those are bugs).
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, MaxConnectionsExceeded)
_BUG_HINTS = ("no such table", "no such column", "syntax error", "has no column")
REPORT_EVERY = 10.0  # seconds: at most one log line per this while the database stays away


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what it wraps) says the database cannot be reached right now."""
    while error is not None:
        if isinstance(error, UNAVAILABLE_ERRORS):
            return not any(hint in str(error).lower() for hint in _BUG_HINTS)
        error = error.__cause__ or error.__context__
    return False


class _OutageLog:
    """One log line per ``REPORT_EVERY`` seconds of an outage, with the count of answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0.0
        self._since_last = 0

    def report(self, error: BaseException) -> None:
        with self._lock:
            self._since_last += 1
            now = time.monotonic()
            if now - self._last < REPORT_EVERY:
                return
            count, self._since_last, self._last = self._since_last, 0, now
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        logger.warning(
            "database unavailable (%d answer(s) said so): %s: %s",
            count, type(error).__name__, first_line,
        )  # fmt: skip


outage_log = _OutageLog()


async def database_unavailable_response(request: Request, error: Exception) -> Response:
    """Starlette exception handler: 503 with a coded error, GraphQL-shaped on /graphql."""
    outage_log.report(error)
    headers = {"Retry-After": "5"}
    if request.url.path.rstrip("/").endswith("/graphql"):
        body: dict[str, Any] = {
            "data": None,
            "errors": [
                {"message": DATABASE_UNAVAILABLE_MESSAGE,
                 "extensions": {"code": DATABASE_UNAVAILABLE}}
            ],
        }  # fmt: skip
    else:
        body = {"error": DATABASE_UNAVAILABLE, "message": DATABASE_UNAVAILABLE_MESSAGE}
    return JSONResponse(body, 503, headers=headers)


# graphql-core says some things in Python's words; a client speaks GraphQL.
PYTHON_WORDS = ((" not to be None.", " not to be null."), ("'NoneType'", "null"))


def in_graphql_words(message: str) -> str:
    """``message`` with Python's words for GraphQL values put in GraphQL's."""
    for python, graphql in PYTHON_WORDS:
        message = message.replace(python, graphql)
    return message


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Ariadne ``error_formatter``: see the module docstring."""
    original = unwrap_graphql_error(error)
    formatted: dict[str, Any] = ariadne_format_error(error, debug)
    extensions = formatted.setdefault("extensions", {})
    if isinstance(original, UserFacingError):
        formatted["message"] = original.message
        extensions["code"] = original.code
        if original.field:
            extensions["field"] = original.field
    elif original is None or isinstance(original, GraphQLError):
        extensions.setdefault("code", "BAD_REQUEST")
        formatted["message"] = in_graphql_words(formatted["message"])
    elif database_unavailable(original):
        formatted["message"] = DATABASE_UNAVAILABLE_MESSAGE
        extensions["code"] = DATABASE_UNAVAILABLE
    else:
        if not debug:
            formatted["message"] = "Internal server error"
        extensions["code"] = INTERNAL
    if not extensions:
        del formatted["extensions"]
    return formatted


class ExpectedErrorFilter(logging.Filter):
    """Keeps errors a client caused (a bad token, a wrong query) out of the server log, and
    turns the traceback of each request during a database outage into the outage's one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, GraphQLError):
            return True
        original = unwrap_graphql_error(error)
        if original is not None and database_unavailable(original):
            outage_log.report(original)
            return False
        return not (original is None or isinstance(original, UserFacingError | GraphQLError))


def quiet_expected_errors() -> None:
    """Install :class:`ExpectedErrorFilter` on Ariadne's logger (idempotent)."""
    ariadne_logger = logging.getLogger("ariadne")
    if not any(isinstance(f, ExpectedErrorFilter) for f in ariadne_logger.filters):
        ariadne_logger.addFilter(ExpectedErrorFilter())
