"""Keyset paging: one page of an ordered query, after or before a known item.

A page is found by the sort key of the item at its edge (the cursor), not by a position: an
item added or removed before it does not shift the next page, which is what a person paging
through a folder that others are changing expects. Every ordering ends in a unique column
(the row id), so that no two items share a key.

A nullable sort key needs a key before it that puts its NULLs in a group of their own (a flag,
``CASE WHEN x IS NULL THEN 1 ELSE 0 END``): databases sort NULL differently, and a comparison
with NULL is never true.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from peewee import Expression, ModelSelect

# One sort key: the expression and whether it runs descending.
SortKey = tuple[Any, bool]


@dataclass(frozen=True)
class Window:
    """What the client asked for: ``size`` items after ``cursor`` (the key of the item at the
    edge), or with ``backward`` the ``size`` items before it; no cursor: from the start (or,
    backward, from the end)."""

    size: int
    backward: bool = False
    cursor: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Slice:
    """One page in list order, each item's sort key, and whether more lie before or after."""

    items: list[Any]
    keys: list[tuple[Any, ...]]
    has_previous: bool
    has_next: bool


def _beyond(order: Sequence[SortKey], values: Sequence[Any]) -> Expression:
    """Rows that come after the row whose key is ``values``, in ``order``."""
    clauses = []
    for index, (expression, descending) in enumerate(order):
        if values[index] is None:
            # NULL sorts only among NULLs (a flag key before it groups them): nothing lies
            # strictly beyond it, and a comparison with NULL would make the clause unknown.
            continue
        step = expression < values[index] if descending else expression > values[index]
        same = [order[j][0] == values[j] for j in range(index)]
        clauses.append(reduce(operator.and_, [*same, step]))
    return reduce(operator.or_, clauses)


def keyset_page(query: ModelSelect[Any], order: Sequence[SortKey], window: Window) -> Slice:
    """The page of ``query`` (a model select) that ``window`` asks for, in ``order``.

    ``window.cursor`` must hold one value per sort key (the caller checks its shape).
    """
    walk = [(expression, descending != window.backward) for expression, descending in order]
    keyed = query.select_extend(*(e.alias(f"_key{i}") for i, (e, _) in enumerate(order)))
    if window.cursor is not None:
        keyed = keyed.where(_beyond(walk, window.cursor))
    sorted_query = keyed.order_by(*(e.desc() if d else e.asc() for e, d in walk))
    # objects(): the keys land on the item, also those of joined tables.
    rows = list(sorted_query.limit(window.size + 1).objects()) if window.size else []
    further = len(rows) > window.size or (not window.size and _any(keyed))
    rows = rows[: window.size]
    keys = [tuple(getattr(row, f"_key{i}") for i in range(len(order))) for row in rows]
    behind = window.cursor is not None and _any(query.where(~_beyond(walk, window.cursor)))
    if window.backward:
        rows.reverse()
        keys.reverse()
        return Slice(rows, keys, has_previous=further, has_next=behind)
    return Slice(rows, keys, has_previous=behind, has_next=further)


def _any(query: ModelSelect[Any]) -> bool:
    return bool(query.limit(1).exists())
