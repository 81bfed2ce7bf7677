"""The one exception a person can act on (its codes: :mod:`archivist.core.error_codes`).

Domain services raise :class:`UserFacingError` with a machine-readable ``code`` and a message
written for the person using Archivist; the API turns it into a ``UserError`` in a mutation
payload, or a GraphQL error carrying the code in ``extensions.code``. Anything else that
escapes is a bug, and the API hides its details unless debug is on.
"""

from __future__ import annotations

from archivist.core.error_codes import check_code


class UserFacingError(Exception):
    """Something the person can fix; ``field`` names the input at fault, when there is one."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = check_code(code)
        self.message = message
        self.field = field


class NotFound(UserFacingError):
    """The thing does not exist, or the viewer may not see it (the two look the same)."""

    def __init__(self, what: str = "node", field: str | None = "id") -> None:
        message = f"No {what} with this id exists, or you may not see it."
        super().__init__("NOT_FOUND", message, field)
