"""A large Xapian write builds its documents in a helper thread while it adds the ones built
before: the index holds what one-by-one writes give, and a failure leaves nothing behind."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xapian

from archivist.indexes import PageRecord, XapianIndex
from archivist.indexes.xapian_index import BUILD_AHEAD_FROM

MakePage = Callable[..., PageRecord]
DOCUMENTS = 40  # three pages each: well over BUILD_AHEAD_FROM in one write


def _pages(make_page: MakePage, document_id: int) -> list[PageRecord]:
    return [
        make_page(document_id, n, f"Rechnung {document_id} Seite{n} façade ledger entry{n * 7}")
        for n in (1, 2, 3)
    ]


def _contents(path: Path) -> list[tuple[bytes, list[tuple[str, int, list[int]]], list[Any]]]:
    """Every page's data, terms (with wdf and positions) and values, in document order."""
    database = xapian.Database(str(path))
    try:
        found = []
        for item in database.postlist(""):
            document = database.get_document(item.docid)
            terms = [
                (t.term.decode(), t.wdf, list(database.positionlist(item.docid, t.term)))
                for t in document.termlist()
            ]
            values = [(v.num, v.value) for v in document.values()]
            found.append((document.get_data(), terms, values))
        return sorted(found)
    finally:
        database.close()


def test_one_large_write_equals_one_write_per_document(tmp_path: Path, make_page: MakePage) -> None:
    documents = {d: _pages(make_page, d) for d in range(1, DOCUMENTS + 1)}
    assert sum(map(len, documents.values())) >= BUILD_AHEAD_FROM
    with XapianIndex(tmp_path / "whole") as whole, XapianIndex(tmp_path / "one") as one:
        whole.replace_documents(documents)
        for document_id, pages in documents.items():
            one.replace_document(document_id, pages)
        # and again: replacing what is there goes through the same path
        whole.replace_documents(documents)
        assert whole.page_count() == one.page_count() == 3 * DOCUMENTS
    assert _contents(tmp_path / "whole") == _contents(tmp_path / "one")


def test_a_page_that_cannot_be_built_fails_the_whole_write(
    tmp_path: Path, make_page: MakePage
) -> None:
    with XapianIndex(tmp_path / "index") as index:
        index.replace_document(1, _pages(make_page, 1))
        before = _contents(tmp_path / "index")
        documents = {d: _pages(make_page, d) for d in range(1, DOCUMENTS + 1)}
        broken = dataclasses.replace(documents[30][1], text=None)  # type: ignore[arg-type]
        documents[30] = [documents[30][0], broken]
        with pytest.raises(TypeError):
            index.replace_documents(documents)
        assert _contents(tmp_path / "index") == before  # nothing of the failed write
        assert not [t for t in threading.enumerate() if t.name == "xapian-build"]
        index.replace_documents({2: _pages(make_page, 2)})  # and the index still takes writes
        assert index.page_count() == 6
