"""Xapian's term layout: folded terms only where folding changes a word, and indexes written
with the earlier layout (a folded term for every word) answer the same without a reindex."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import xapian

from archivist.indexes import PageRecord, XapianIndex
from archivist.indexes.analysis import fold, words
from archivist.indexes.query import parse_query
from archivist.indexes.xapian_index import _document, _translate

ACCENTED = "Décoration intérieure et façade."
PLAIN = "Decoration interieure sans accents."


def terms_of(path: Path, document_id: int) -> set[str]:
    database = xapian.Database(str(path))
    postings = database.postlist(f"Q{document_id}")
    docid = next(iter(postings)).docid
    return {item.term.decode() for item in database.termlist(docid)}


def ranked(index: XapianIndex, query: str) -> list[int]:
    return [hit.document_id for hit in index.search(query, principals=["user:1"]).hits]


def test_folded_terms_are_stored_only_for_words_that_folding_changes(
    tmp_path: Path, make_page: Callable[..., PageRecord]
) -> None:
    with XapianIndex(tmp_path / "index") as index:
        index.replace_document(1, [make_page(1, 1, ACCENTED, language="fr")])
        index.replace_document(2, [make_page(2, 1, PLAIN, language="fr")])
    accented, plain = terms_of(tmp_path / "index", 1), terms_of(tmp_path / "index", 2)
    assert {"Wdécoration", "Fdecoration", "Wintérieure", "Finterieure"} <= accented
    assert "Fet" not in accented and "Wet" in accented
    assert not any(term.startswith("F") for term in plain)
    assert "XFdocument" not in plain and "Sdocument" in plain  # the title too


def test_an_index_written_with_a_folded_term_for_every_word_needs_no_reindex(
    tmp_path: Path, make_page: Callable[..., PageRecord]
) -> None:
    path = tmp_path / "index"
    XapianIndex(path).close()
    database = xapian.WritableDatabase(str(path), xapian.DB_OPEN)
    for document_id, text in ((1, ACCENTED), (2, PLAIN)):
        record = make_page(document_id, 1, text, language="fr")
        document = _document(record)
        for position, word in enumerate(words(text), start=1):  # what the earlier layout wrote
            document.add_posting(f"F{fold(word)}", position)
        database.add_document(document)
    database.commit()
    database.close()
    with XapianIndex(path) as index:
        assert ranked(index, "interieure") == [2, 1]
        assert ranked(index, "intérieure") == [1, 2]
        assert ranked(index, '"decoration interieure"') == [2, 1]
        assert ranked(index, '"décoration intérieure"') == [1, 2]
        assert ranked(index, "interi*") == [2, 1]
        assert ranked(index, "façade") == [1]
        assert ranked(index, "facade") == [1]


class _EveryTermExists:
    """A stand-in database that makes the translation always take the general path."""

    def term_exists(self, _term: str) -> bool:
        return True


def test_a_phrase_nobody_spells_with_accents_is_checked_once_with_the_same_weights(
    tmp_path: Path, make_page: Callable[..., PageRecord]
) -> None:
    texts = ["the end of the line", "of the people, by the people", "end of story", "of of the"]
    with XapianIndex(tmp_path / "index") as index:
        for number, text in enumerate(texts, start=1):
            index.replace_document(number, [make_page(number, 1, text)])
    database = xapian.Database(str(tmp_path / "index"))
    for text in ('"of the"', '"of the" people', 'end "of the line"'):
        node = parse_query(text)
        shortcut = _translate(node, ["en"], database)
        general = _translate(node, ["en"], _EveryTermExists())
        assert str(shortcut) != str(general)  # the shortcut was taken
        answers = []
        for query in (shortcut, general):
            enquire = xapian.Enquire(database)
            enquire.set_query(query)
            answers.append([(m.docid, round(m.weight, 9)) for m in enquire.get_mset(0, 10)])
        assert answers[0] == answers[1] and answers[0], text
    with XapianIndex(tmp_path / "index") as index:  # an accented spelling turns it off
        index.replace_document(9, [make_page(9, 1, "öf the accents", language="de")])
        assert 9 in {
            hit.document_id for hit in index.search('"of the"', principals=["user:1"]).hits
        }
