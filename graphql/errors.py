"""How errors reach clients: what a person can fix is said; a bug says nothing of itself.

A :class:`UserFacingError` keeps its message and gets its code in ``extensions.code``. Syntax
and validation errors are already client-facing. Anything else becomes "Internal server
error" (the details go to the log, and to the client only when debug is on).
"""

from __future__ import annotations

import logging
from typing import Any

from ariadne import format_error as ariadne_format_error
from ariadne import unwrap_graphql_error
from graphql import GraphQLError

from archivist.core.errors import UserFacingError

logger = logging.getLogger("archivist.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"


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
    else:
        if not debug:
            formatted["message"] = "Internal server error"
        extensions["code"] = INTERNAL
    if not extensions:
        del formatted["extensions"]
    return formatted


class ExpectedErrorFilter(logging.Filter):
    """Keeps errors a client caused (a bad token, a wrong query) out of the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, GraphQLError):
            return True
        original = unwrap_graphql_error(error)
        return not (original is None or isinstance(original, UserFacingError | GraphQLError))


def quiet_expected_errors() -> None:
    """Install :class:`ExpectedErrorFilter` on Ariadne's logger (idempotent)."""
    ariadne_logger = logging.getLogger("ariadne")
    if not any(isinstance(f, ExpectedErrorFilter) for f in ariadne_logger.filters):
        ariadne_logger.addFilter(ExpectedErrorFilter())
