"""Ordering by title or date, and a folder scope by id: the same on both engines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archivist.indexes import PageRecord, SearchIndex, SearchOrder, open_index

ENGINES = ("xapian", "whoosh")
MakePage = Callable[..., PageRecord]


def day(year: int, month: int, day_: int) -> datetime:
    return datetime(year, month, day_, 12, tzinfo=UTC)


TITLES = {1: "banana split", 2: "Äpfel und Birnen", 3: "apple pie", 4: "cherry"}
CREATED = {1: day(2024, 3, 1), 2: day(2023, 1, 1), 3: day(2024, 3, 1), 4: day(2025, 6, 1)}
# Document 4 lies in a folder titled with quotes and parentheses, below document 3's.
FOLDERS = {1: (10,), 2: (10,), 3: (10, 11), 4: (10, 11, 12)}


def _fill(index: SearchIndex, make_page: MakePage) -> None:
    for document_id, title in TITLES.items():
        index.replace_document(
            document_id,
            [
                make_page(
                    document_id, number, f"fruit salad page {number} " + "fruit " * number,
                    title=title, created=CREATED[document_id], modified=CREATED[document_id],
                    folder_ids=FOLDERS[document_id],
                    folder_path=("Home", 'Say "hi" (2024)', "x")[: len(FOLDERS[document_id])],
                )
                for number in (1, 2)
            ],
        )  # fmt: skip


def _order(index: SearchIndex, by: str, descending: bool = False, **kwargs) -> list[tuple]:
    results = index.search(
        "fruit", principals=["user:1"], limit=100, order=SearchOrder(by, descending), **kwargs
    )
    return [(hit.document_id, hit.page_number) for hit in results.hits]


def test_orders_by_title_then_document_and_page(index: SearchIndex, make_page: MakePage) -> None:
    _fill(index, make_page)
    # Case and accents do not matter: "Äpfel" < "apple" < "banana" < "cherry".
    assert _order(index, "title") == [
        (2, 1), (2, 2), (3, 1), (3, 2), (1, 1), (1, 2), (4, 1), (4, 2),
    ]  # fmt: skip
    assert _order(index, "title", descending=True)[:3] == [(4, 1), (4, 2), (1, 1)]


def test_orders_by_date_with_ties_by_document(index: SearchIndex, make_page: MakePage) -> None:
    _fill(index, make_page)
    assert _order(index, "created", descending=True) == [
        (4, 1), (4, 2), (1, 1), (1, 2), (3, 1), (3, 2), (2, 1), (2, 2),
    ]  # fmt: skip
    assert [hit[0] for hit in _order(index, "modified")][::2] == [2, 1, 3, 4]


def test_sorted_results_keep_scores_pages_and_paging(
    index: SearchIndex, make_page: MakePage
) -> None:
    _fill(index, make_page)
    order = SearchOrder("title")
    first = index.search("fruit", principals=["user:1"], limit=3, order=order)
    second = index.search("fruit", principals=["user:1"], limit=3, offset=3, order=order)
    assert first.total == second.total == 8
    assert [(h.document_id, h.page_number) for h in first.hits + second.hits] == (
        _order(index, "title")[:6]
    )
    assert all(hit.score > 0 for hit in first.hits) and "<mark>" in first.hits[0].snippet
    grouped = index.search(
        "fruit", principals=["user:1"], limit=2, order=order, group_by_document=True
    )
    assert grouped.total == 4
    assert [(h.document_id, h.page_number) for h in grouped.hits] == [(2, 1), (3, 1)]
    assert [p.page_number for p in grouped.hits[0].pages] == [1, 2]


def test_folder_scope_by_id_includes_subfolders(index: SearchIndex, make_page: MakePage) -> None:
    _fill(index, make_page)

    def documents(folder_id: int) -> set[int]:
        found = index.search("fruit", principals=["user:1"], limit=100, folder_id=folder_id)
        return {hit.document_id for hit in found.hits}

    assert documents(10) == {1, 2, 3, 4}
    assert documents(11) == {3, 4}
    assert documents(12) == {4}
    assert documents(99) == set()
    # The scope is a filter: it does not change the other documents' readers' view.
    assert index.search("fruit", principals=["user:2"], folder_id=11).total == 0


def test_relevance_is_the_default_order(index: SearchIndex, make_page: MakePage) -> None:
    _fill(index, make_page)
    plain = index.search("fruit", principals=["user:1"], limit=100)
    ordered = index.search("fruit", principals=["user:1"], limit=100, order=SearchOrder())
    assert [(h.document_id, h.page_number) for h in plain.hits] == [
        (h.document_id, h.page_number) for h in ordered.hits
    ]
    scores = [hit.score for hit in plain.hits]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError):
        SearchOrder("size")


def test_both_engines_order_alike(tmp_path: Path, make_page: MakePage) -> None:
    seen = {}
    for engine in ENGINES:
        with open_index(engine, tmp_path / engine) as index:
            _fill(index, make_page)
            seen[engine] = [
                _order(index, by, descending, folder_id=folder)
                for by in SearchOrder.FIELDS[1:]
                for descending in (False, True)
                for folder in (10, 11)
            ]
    assert seen["xapian"] == seen["whoosh"]
