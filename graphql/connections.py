"""Connections (``first``/``after``, ``totalCount``, ``pageInfo``) over offset cursors.

A cursor is the item's position in the list, as text: stable while the list does not change,
which is what a person paging through a folder or search results expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archivist.core.errors import UserFacingError


def offset_after(after: str | None) -> int:
    """The position after the cursor; raises UserFacingError(INVALID_CURSOR)."""
    if not after:
        return 0
    if not after.isdigit():
        raise UserFacingError("INVALID_CURSOR", "This cursor is not one we gave out.", "after")
    return int(after) + 1


def connection(items: Sequence[Any], total: int, offset: int, **extra: Any) -> dict[str, Any]:
    """The connection of ``items``, which start at ``offset`` in a list of ``total``."""
    edges = [{"cursor": str(offset + i), "node": item} for i, item in enumerate(items)]
    return {
        "total_count": total,
        "edges": edges,
        "page_info": {
            "has_next_page": offset + len(items) < total,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
        **extra,
    }
