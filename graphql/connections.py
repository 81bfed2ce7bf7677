"""Connections after Relay's spec: ``first``/``after`` and ``last``/``before``, ``totalCount``,
a full ``pageInfo``, and opaque cursors.

A cursor holds the sort key of its item and which listing and order it belongs to, as
URL-safe base64 of JSON; it is opaque to clients. Folder children, the trash and a document's
pages are paged by key (:mod:`archivist.core.paging`): a cursor keeps its place when items
are added or removed before it. Search results are ranked by the engine, so a search cursor
holds a position in the ranking (see the README).

Every page size has a cap (:data:`PAGE_SIZES`, stated in the schema's descriptions): a larger
``first`` or ``last`` is refused with ``INVALID_FIRST``/``INVALID_LAST`` before the query runs
(see :mod:`archivist.graphql.validation`), as is a negative one.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from archivist.core.errors import UserFacingError
from archivist.core.paging import Slice, Window

# (default, cap) of the page size of each connection (the schema's descriptions say the same).
PAGE_SIZES: dict[tuple[str, str], tuple[int, int]] = {
    ("Query", "search"): (20, 100),
    ("Query", "trash"): (100, 1000),
    ("Folder", "children"): (100, 1000),
    ("Document", "pages"): (100, 500),
    ("JobQueue", "jobs"): (20, 100),
    ("Query", "auditLog"): (100, 1000),
}
DEFAULT_PAGE_SIZE = (100, 100)
# No list is longer than this; larger positions would overflow the engines' integer offsets.
MAX_POSITION = 2**31 - 2
MAX_CURSOR_LENGTH = 2048
_INT_RANGE = 2**63


def page_size_limit(type_name: str, field_name: str) -> int:
    """The cap of ``first`` and ``last`` on ``type_name.field_name``."""
    return PAGE_SIZES.get((type_name, field_name), DEFAULT_PAGE_SIZE)[1]


def default_page_size(type_name: str, field_name: str) -> int:
    """How many items ``type_name.field_name`` gives without ``first`` or ``last``."""
    return PAGE_SIZES.get((type_name, field_name), DEFAULT_PAGE_SIZE)[0]


def check_size(value: int, argument: str, cap: int) -> int:
    """``value`` when it is within 0..cap; raises UserFacingError(INVALID_FIRST/LAST)."""
    if not 0 <= value <= cap:
        code = "INVALID_FIRST" if argument == "first" else "INVALID_LAST"
        raise UserFacingError(
            code, f"'{argument}' must be between 0 and {cap} (got {value}).", argument
        )
    return value


def _tagged(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if isinstance(text, str):
            if tag == "t":
                return datetime.fromisoformat(text)
            if tag == "d":
                return date.fromisoformat(text)
            if tag == "n":
                number = Decimal(text)
                if number.is_finite():
                    return number
        raise ValueError("not a cursor value")
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int) and abs(value) < _INT_RANGE:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise ValueError("not a cursor value")


def encode_cursor(listing: str, key: Sequence[Any]) -> str:
    """The cursor of the item with sort key ``key`` in ``listing`` (a listing and its order)."""
    text = json.dumps([listing, [_tagged(value) for value in key]], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode_cursor(
    cursor: str, listing: str, shape: Sequence[type | tuple[type, ...]], argument: str
) -> tuple[Any, ...]:
    """The sort key a cursor of ``listing`` holds, each value of the type ``shape`` says.

    Raises UserFacingError(INVALID_CURSOR) for anything else (another listing's or order's
    cursor included).
    """
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, values = json.loads(raw.decode("utf-8"))
        key = tuple(_untagged(value) for value in values)
    except (binascii.Error, ValueError, TypeError, InvalidOperation, UnicodeDecodeError):
        key, name = (), None
    valid = name == listing and len(key) == len(shape)
    if not valid or not all(
        isinstance(value, kind) and not (isinstance(value, bool) and kind is int)
        for value, kind in zip(key, shape, strict=False)
    ):
        raise UserFacingError(
            "INVALID_CURSOR", "This cursor is not one we gave out here.", argument
        )
    return key


def window(
    type_name: str,
    field_name: str,
    listing: str,
    shape: Sequence[type | tuple[type, ...]],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Window:
    """The page the arguments ask for; raises UserFacingError for bad ones."""
    if first is not None and last is not None:
        raise UserFacingError("INVALID_PAGINATION", "Give 'first' or 'last', not both.", "last")
    if after is not None and before is not None:
        raise UserFacingError("INVALID_PAGINATION", "Give 'after' or 'before', not both.", "before")
    cap = page_size_limit(type_name, field_name)
    backward = last is not None or (before is not None and first is None)
    if first is not None:
        size = check_size(first, "first", cap)
    elif last is not None:
        size = check_size(last, "last", cap)
    else:
        size = default_page_size(type_name, field_name)
    cursor, argument = (before, "before") if backward else (after, "after")
    if cursor is None and (after is not None or before is not None):
        raise UserFacingError(
            "INVALID_PAGINATION",
            "'after' goes with 'first', 'before' with 'last'.",
            "after" if after is not None else "before",
        )
    key = decode_cursor(cursor, listing, shape, argument) if cursor is not None else None
    return Window(size, backward, key)


def connection(page: Slice, total: int, listing: str, **extra: Any) -> dict[str, Any]:
    """The connection of one keyset page of a list of ``total`` items."""
    edges = [
        {"cursor": encode_cursor(listing, key), "node": item}
        for item, key in zip(page.items, page.keys, strict=True)
    ]
    return {
        "total_count": total,
        "edges": edges,
        "page_info": {
            "has_previous_page": page.has_previous,
            "has_next_page": page.has_next,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
        **extra,
    }


def position_window(
    type_name: str,
    field_name: str,
    listing: str,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> tuple[int, int]:
    """For a ranked list paged by position: the offset and count the arguments ask for."""
    asked = window(
        type_name, field_name, listing, (int,), first=first, after=after, last=last, before=before
    )
    if asked.cursor is not None and not 0 <= asked.cursor[0] <= MAX_POSITION:
        raise UserFacingError(
            "INVALID_CURSOR", "This cursor is not one we gave out here.",
            "before" if asked.backward else "after",
        )  # fmt: skip
    if not asked.backward:
        return (asked.cursor[0] + 1 if asked.cursor else 0), asked.size
    if asked.cursor is None:
        raise UserFacingError(
            "INVALID_PAGINATION", "A ranked list is paged backward from a cursor ('before').",
            "before",
        )  # fmt: skip
    end = asked.cursor[0]
    return max(0, end - asked.size), min(asked.size, end)


def position_connection(
    items: Sequence[Any], total: int, offset: int, listing: str
) -> dict[str, Any]:
    """The connection of ``items``, the page at ``offset`` of a list paged by position."""
    edges = [
        {"cursor": encode_cursor(listing, (offset + index,)), "node": item}
        for index, item in enumerate(items)
    ]
    return {
        "total_count": total,
        "edges": edges,
        "page_info": {
            "has_previous_page": offset > 0,
            "has_next_page": offset + len(items) < total,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
    }
