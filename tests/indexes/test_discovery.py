"""The contract of word completion, "did you mean", similar documents, the type and year
facets and compaction, run against every engine: each answers only from pages the
searching principals may read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xapian

from archivist.indexes import PageRecord, QueryError, SearchIndex, XapianIndex
from archivist.indexes.spelling import edit_distance, respell

ALICE, BOB = ("user:1",), ("user:2",)
UNRELATED = ["garden party", "wombat costume", "holiday photos", "tax return"]
MakePage = Callable[..., PageRecord]
OpenEngine = Callable[..., SearchIndex]


def day(year: int, month: int, day_: int) -> datetime:
    return datetime(year, month, day_, 12, tzinfo=UTC)


@pytest.fixture
def shelf(index: SearchIndex, make_page: MakePage) -> SearchIndex:
    """Alice's bills and letters; Bob's secret papers; one document shared with both."""
    index.replace_document(1, [
        make_page(1, 1, "Electricity invoice, payment due. Electricity meter.",
                  title="Quarterly electricity", document_type="Invoice", created=day(2024, 2, 1)),
        make_page(1, 2, "Meter reading and payment.", document_type="Invoice",
                  created=day(2024, 2, 1)),
    ])  # fmt: skip
    index.replace_document(2, [
        make_page(2, 1, "Electricity contract for the meter, payment monthly.",
                  document_type="Contract", created=day(2023, 5, 1)),
    ])  # fmt: skip
    index.replace_document(3, [
        make_page(3, 1, "Zeppelin hangar blueprint, electricity confidential.",
                  title="Zeppelin plans", document_type="Secret plan", readers=BOB,
                  created=day(2021, 1, 1)),
    ])  # fmt: skip
    index.replace_document(4, [
        make_page(4, 1, "Garden party invitation, wombat costume.", readers=("user:1", "user:2"),
                  created=day(2022, 7, 1)),
    ])  # fmt: skip
    return index


def test_completion_offers_readable_words_most_common_first(shelf: SearchIndex) -> None:
    assert shelf.complete("ele", principals=ALICE) == ["electricity"]
    assert shelf.complete("Me", principals=ALICE) == ["meter"]
    assert shelf.complete("pay", principals=ALICE) == ["payment"]
    assert shelf.complete("quarterl", principals=ALICE) == ["quarterly"]  # a title word
    assert shelf.complete("invoice m", principals=ALICE) == ["meter", "monthly"]
    assert shelf.complete("invoice ", principals=ALICE) == []  # the next word is not begun
    assert shelf.complete("m", principals=ALICE, limit=1) == ["meter"]
    assert shelf.complete("wom", principals=BOB) == ["wombat"]  # shared with both


def test_completion_never_offers_a_word_only_on_unreadable_pages(shelf: SearchIndex) -> None:
    assert shelf.complete("zep", principals=BOB) == ["zeppelin"]
    assert shelf.complete("zep", principals=ALICE) == []
    assert shelf.complete("hang", principals=ALICE) == []
    assert shelf.complete("conf", principals=ALICE) == []
    assert shelf.complete("ele", principals=("user:9",)) == []
    assert shelf.complete("ele", principals=()) == []
    assert shelf.complete("", principals=ALICE) == shelf.complete("--", principals=ALICE) == []


def test_completion_forgets_words_of_replaced_pages(
    shelf: SearchIndex, make_page: MakePage
) -> None:
    shelf.replace_document(4, [make_page(4, 1, "Garden party, no costume.", readers=ALICE)])
    assert shelf.complete("wom", principals=ALICE) == []
    shelf.delete_document(2)
    assert shelf.complete("mon", principals=ALICE) == []


def test_bad_completion_arguments(shelf: SearchIndex) -> None:
    with pytest.raises(ValueError):
        shelf.complete("ele", principals=ALICE, limit=0)
    with pytest.raises(TypeError):
        shelf.complete("ele", principals="user:1")


def test_did_you_mean_respells_into_readable_words(shelf: SearchIndex) -> None:
    assert shelf.suggest_query("electricty", principals=ALICE) == "electricity"
    assert shelf.suggest_query("Electricty paymnet", principals=ALICE) == "electricity payment"
    assert shelf.suggest_query('"metre reading"', principals=ALICE) == '"meter reading"'
    assert shelf.suggest_query("electricty tag:invoice", principals=ALICE) is None  # no tag
    assert shelf.suggest_query("electricty -contract", principals=ALICE) == (
        "electricity -contract"
    )
    assert shelf.suggest_query("electricty -meter", principals=ALICE) is None  # finds nothing
    assert shelf.suggest_query("electricity", principals=ALICE) is None  # nothing to respell
    assert shelf.suggest_query("qwxzy", principals=ALICE) is None  # nothing near


def test_did_you_mean_never_uses_a_word_only_on_unreadable_pages(shelf: SearchIndex) -> None:
    assert shelf.suggest_query("zepelin", principals=BOB) == "zeppelin"
    assert shelf.suggest_query("zepelin", principals=ALICE) is None
    assert shelf.suggest_query("hanger", principals=ALICE) is None
    # Known to the index but not to Alice: neither respelled nor a reason to respell.
    assert shelf.suggest_query("zeppelin", principals=ALICE) is None
    # Each word is right, but no page of Alice's holds them together.
    assert shelf.suggest_query("wombat quartrly", principals=ALICE) is None
    assert shelf.suggest_query("electricty", principals=()) is None
    with pytest.raises(QueryError):
        shelf.suggest_query('"unbalanced', principals=ALICE)


def test_did_you_mean_in_a_folder(index: SearchIndex, make_page: MakePage) -> None:
    index.replace_document(1, [make_page(1, 1, "walrus notes", folder_ids=(10,))])
    index.replace_document(2, [make_page(2, 1, "walnut notes", folder_ids=(20,))])
    assert index.suggest_query("walrut", principals=ALICE, folder_id=10) == "walrus"
    assert index.suggest_query("walnutt", principals=ALICE, folder_id=10) is None
    assert index.suggest_query("walnutt", principals=ALICE, folder_id=20) == "walnut"


def test_similar_documents_share_key_terms_and_are_readable(shelf: SearchIndex) -> None:
    alike = [document for document, _ in shelf.similar_documents(1, principals=ALICE)]
    assert alike[0] == 2  # electricity, meter, payment
    assert 1 not in alike and 3 not in alike
    assert 1 not in [d for d, _ in shelf.similar_documents(1, principals=("user:1", "user:2"))]
    assert [d for d, _ in shelf.similar_documents(3, principals=ALICE)] in ([], [1], [2], [1, 2])
    assert shelf.similar_documents(99, principals=ALICE) == []
    assert shelf.similar_documents(1, principals=()) == []
    scores = [score for _, score in shelf.similar_documents(1, principals=ALICE)]
    assert scores == sorted(scores, reverse=True) and all(score > 0 for score in scores)


def test_type_and_year_facets_count_readable_matches(shelf: SearchIndex) -> None:
    found = shelf.search("electricity", principals=ALICE, facets=("type", "year"))
    assert found.type_facets == {"Invoice": 1, "Contract": 1}
    assert found.year_facets == {2023: 1, 2024: 1}
    every = shelf.search("payment OR electricity", principals=ALICE, facets=("type", "year"))
    assert every.type_facets == {"Invoice": 2, "Contract": 1}
    assert list(every.year_facets.items()) == [(2024, 2), (2023, 1)]
    bobs = shelf.search("electricity", principals=BOB, facets=("type", "year"))
    assert (bobs.type_facets, bobs.year_facets) == ({"Secret plan": 1}, {2021: 1})
    grouped = shelf.search("meter", principals=ALICE, facets=("type",), group_by_document=True)
    assert grouped.type_facets == {"Invoice": 2, "Contract": 1}  # pages, as tags count them
    plain = shelf.search("electricity", principals=ALICE)
    assert (plain.type_facets, plain.year_facets) == ({}, {})  # not asked for
    with pytest.raises(ValueError):
        shelf.search("electricity", principals=ALICE, facets=("colour",))


def test_compaction_keeps_every_page_and_open_readers_answer(
    engine: str, open_engine: OpenEngine, tmp_path: Path, make_page: MakePage
) -> None:
    path = tmp_path / "index"
    writer, reader = open_engine(path), open_engine(path)
    for document in range(1, 41):
        writer.replace_document(document, [make_page(document, 1, f"common word{document}")])
    for document in range(1, 21):
        writer.delete_document(document)
    assert reader.search("common", principals=ALICE).total == 20
    compacted = writer.compact()
    assert compacted == (engine != "xapian-remote")  # a remote index compacts on its host
    assert reader.search("common", principals=ALICE).total == 20
    assert reader.complete("word3", principals=ALICE) == ["word30"] + [
        f"word3{n}" for n in range(1, 10)
    ]
    reader.replace_document(50, [make_page(50, 1, "common after")])
    assert writer.search("common", principals=ALICE).total == 21
    assert open_engine(path).document_versions() == {
        document: document * 100 + 1 for document in [*range(21, 41), 50]
    }
    writer.close()
    reader.close()


def test_compaction_shrinks_a_xapian_index(tmp_path: Path, make_page: MakePage) -> None:
    path = tmp_path / "index"

    def size() -> int:
        return sum(file.stat().st_size for file in path.iterdir())

    with XapianIndex(path) as index:
        for document in range(1, 201):
            index.replace_document(document, [make_page(document, 1, f"text {document} " * 50)])
        before = size()
        assert index.compact()
        assert size() < before
        assert index.search("text", principals=ALICE).total == 200
    assert not any(p.name.endswith(".compacting") for p in tmp_path.iterdir())


def test_a_xapian_index_written_before_these_features_answers(
    tmp_path: Path, make_page: MakePage
) -> None:
    """Pages written without the type and year values (as before): searches, completion,
    respelling and similar documents work; those pages are just not in the new facets."""
    from archivist.indexes import xapian_index

    path = tmp_path / "index"
    database = xapian.WritableDatabase(str(path), xapian.DB_CREATE_OR_OPEN)
    texts = ["electricity invoice meter", "electricity meter reading", *UNRELATED]
    for document, text in enumerate(texts, start=1):
        entry = xapian_index._document(make_page(document, 1, text, document_type="Invoice"))
        entry.remove_value(xapian_index.SLOT_TYPE)
        entry.remove_value(xapian_index.SLOT_YEAR)
        database.add_document(entry)
    database.commit()
    database.close()
    with XapianIndex(path) as index:
        found = index.search("electricity", principals=ALICE, facets=("type", "year"))
        assert (found.total, found.type_facets, found.year_facets) == (2, {}, {})
        assert index.complete("elec", principals=ALICE) == ["electricity"]
        assert index.suggest_query("electricty", principals=ALICE) == "electricity"
        assert [d for d, _ in index.similar_documents(1, principals=ALICE)] == [2]
        index.replace_document(9, [make_page(9, 1, "electricity", document_type="Invoice")])
        found = index.search("electricity", principals=ALICE, facets=("type", "year"))
        assert (found.type_facets, found.year_facets) == ({"Invoice": 1}, {2024: 1})


def test_a_whoosh_index_written_before_these_features_answers(
    tmp_path: Path, make_page: MakePage
) -> None:
    """An index made with the schema before the facet fields gets them when opened."""
    from whoosh import index as whoosh_index

    from archivist.indexes import WhooshIndex
    from archivist.indexes import whoosh_index as ours

    schema = ours._schema()
    for name in ("type_name", "year"):
        schema.remove(name)
    (tmp_path / "index").mkdir()
    old = whoosh_index.create_in(str(tmp_path / "index"), schema)
    writer = old.writer()
    fields = ours._fields(make_page(1, 1, "electricity meter", document_type="Invoice"))
    writer.add_document(**{k: v for k, v in fields.items() if k not in ("type_name", "year")})
    writer.commit()
    old.close()
    with WhooshIndex(tmp_path / "index") as index:
        found = index.search("electricity", principals=ALICE, facets=("type", "year"))
        assert (found.total, found.type_facets, found.year_facets) == (1, {}, {})
        assert index.suggest_query("electricty", principals=ALICE) == "electricity"
        index.replace_document(2, [make_page(2, 1, "electricity", document_type="Invoice")])
        found = index.search("electricity", principals=ALICE, facets=("type", "year"))
        assert (found.type_facets, found.year_facets) == ({"Invoice": 1}, {2024: 1})


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("meter", "metre", 1), ("meter", "meter", 0), ("abc", "abcde", 2), ("kitten", "sitting", 3),
     ("payment", "paymnet", 1), ("", "ab", 2)],
)  # fmt: skip
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, 3) == distance
    assert edit_distance(a, b, 1) == min(distance, 2)


def test_respelling_keeps_the_query_as_typed() -> None:
    fix = {"electricty": "electricity", "metre": "meter"}
    assert respell('Electricty tag:metre "metre reading" -x', fix) == (
        'electricity tag:metre "meter reading" -x'
    )
