"""Every kind of change to a document reaches the index, replacing what was there."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from archivist.indexes import IndexLockTimeout, SearchIndex, open_index
from archivist.indexes.locking import write_lock

OpenEngine = Callable[..., SearchIndex]  # the open_engine fixture
USER = ["user:1"]


def found(index: SearchIndex, query: str, principals: list[str] = USER) -> set[tuple[int, int]]:
    return {(h.document_id, h.page_number) for h in index.search(query, principals=principals).hits}


def test_new_version_replaces_the_old_pages(index: SearchIndex, make_page) -> None:
    index.replace_document(1, [make_page(1, n, f"draft page{n}") for n in (1, 2, 3)])
    index.replace_document(2, [make_page(2, 1, "draft other")])
    new = [make_page(1, 1, "final text", version_id=102)]
    index.replace_document(1, new)
    assert found(index, "draft") == {(2, 1)}
    assert found(index, "final") == {(1, 1)}
    assert index.search("final", principals=USER).hits[0].version_id == 102
    assert index.document_versions() == {1: 102, 2: 201}
    assert index.page_count() == 2


@pytest.mark.parametrize(
    ("change", "before", "after"),
    [
        ({"title": "Electricity bill"}, "title:invoice", "title:bill"),
        ({"tags": ("Paid", "2024")}, "tag:unpaid", "tag:paid"),
        ({"folder_path": ("Home", "Archive")}, 'in:"Home/Inbox"', "in:home/archive"),
        ({"document_type": "Receipt"}, "type:invoice", "type:receipt"),
        ({"language": "de"}, "lang:en", "lang:de"),
    ],
)
def test_metadata_changes(index: SearchIndex, make_page, change, before, after) -> None:
    page = make_page(
        1, 1, "some text", title="Electricity invoice", tags=("Unpaid",),
        folder_path=("Home", "Inbox"), document_type="Invoice",
    )  # fmt: skip
    index.replace_document(1, [page])
    assert found(index, before) == {(1, 1)} and found(index, after) == set()
    index.replace_document(1, [dataclasses.replace(page, **change)])
    assert found(index, before) == set() and found(index, after) == {(1, 1)}
    assert index.page_count() == 1


def test_tag_change_updates_facets(index: SearchIndex, make_page) -> None:
    page = make_page(1, 1, "text", tags=("Unpaid",))
    index.replace_document(1, [page])
    index.replace_document(1, [dataclasses.replace(page, tags=("Paid",))])
    assert index.search("text", principals=USER).tag_facets == {"Paid": 1}


def test_changed_readers(index: SearchIndex, make_page) -> None:
    page = make_page(1, 1, "shared secret", readers=("user:1", "group:7"))
    index.replace_document(1, [page])
    assert found(index, "secret", ["group:7"]) == {(1, 1)}
    index.replace_document(1, [dataclasses.replace(page, readers=("user:1", "user:9"))])
    assert found(index, "secret", ["group:7"]) == set()
    assert found(index, "secret", ["user:9"]) == {(1, 1)}
    assert found(index, "secret", ["user:1"]) == {(1, 1)}


def test_delete_and_clear(index: SearchIndex, make_page) -> None:
    index.replace_document(1, [make_page(1, 1, "one")])
    index.replace_document(2, [make_page(2, 1, "two"), make_page(2, 2, "two")])
    index.delete_document(1)
    index.delete_document(42)  # not indexed: nothing happens
    assert found(index, "one") == set() and index.document_versions() == {2: 201}
    index.replace_document(2, [])
    assert index.page_count() == 0 and index.document_versions() == {}
    index.replace_document(3, [make_page(3, 1, "three")])
    index.clear()
    assert index.page_count() == 0 and found(index, "three") == set()
    index.replace_document(4, [make_page(4, 1, "four")])
    assert found(index, "four") == {(4, 1)}


def test_records_must_belong_to_the_document(index: SearchIndex, make_page) -> None:
    with pytest.raises(ValueError, match="document 2 passed for document 1"):
        index.replace_document(1, [make_page(2, 1, "x")])
    assert index.page_count() == 0


def test_a_second_handle_sees_writes_and_data_persists(
    open_engine: OpenEngine, tmp_path: Path, make_page
) -> None:
    with (
        open_engine(tmp_path / "ix") as writer,
        open_engine(tmp_path / "ix") as reader,
    ):
        assert found(reader, "persist") == set()  # opened before the write
        writer.replace_document(1, [make_page(1, 1, "persist me")])
        assert found(reader, "persist") == {(1, 1)}
    with open_engine(tmp_path / "ix") as again:
        assert again.document_versions() == {1: 101}


def test_a_held_write_lock_times_out_with_a_clear_error(
    engine: str, open_engine: OpenEngine, tmp_path: Path, make_page
) -> None:
    with open_engine(tmp_path / "ix", lock_timeout=0.2) as index, ExitStack() as held:
        if engine == "xapian-remote":  # the server's one writable connection is the lock
            held.enter_context(open_engine(tmp_path / "ix").job_lock())
        else:
            held.enter_context(write_lock(tmp_path / "ix"))
        with held:
            with pytest.raises(IndexLockTimeout, match="write lock"):
                index.replace_document(1, [make_page(1, 1, "blocked")])
            assert index.search("blocked", principals=USER).total == 0  # readers never wait
        index.replace_document(1, [make_page(1, 1, "unblocked")])
        assert index.page_count() == 1


def test_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='Unknown search backend "solr"'):
        open_index("solr", tmp_path)


def test_clearing_an_older_whoosh_index_takes_todays_schema(tmp_path: Path, make_page) -> None:
    from whoosh import fields, index

    from archivist.indexes.whoosh_index import _schema

    older = fields.Schema(**{n: f for n, f in _schema().items() if "folded" not in n})
    index.create_in(str(tmp_path), older).close()  # as made before accents were folded
    with open_index("whoosh", tmp_path) as opened:
        opened.clear()  # what `archivist reindex` does first
        opened.replace_document(1, [make_page(1, 1, "intérieure")])
        assert found(opened, "interieure") == {(1, 1)}
