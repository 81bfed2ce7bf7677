"""Mutation payloads: ``errors: [UserError!]!`` for what a person can fix."""

from __future__ import annotations

from typing import Any

from archivist.core.errors import UserFacingError


def user_errors(error: UserFacingError) -> dict[str, Any]:
    """A payload whose only content is ``error``."""
    return {"errors": [{"code": error.code, "message": error.message, "field": error.field}]}


def ok(**fields: Any) -> dict[str, Any]:
    """A successful payload with ``fields`` and no errors."""
    return {**fields, "errors": []}
