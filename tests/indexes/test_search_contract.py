"""The search contract, run against every engine: query forms, filters, language,
ranking, permissions, facets, snippets, grouping and paging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archivist.indexes import SearchIndex

DOC1 = {(1, 1), (1, 2)}
DOC2 = {(2, 1), (2, 2)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("invoice", {(1, 1)}),
        ("INVOICE", {(1, 1)}),
        ("payment", DOC1),
        ("payment bank", {(1, 1)}),
        ("payment AND bank", {(1, 1)}),
        ('"net income"', {(2, 1)}),
        ('"income net"', set()),
        ("payment OR income", DOC1 | DOC2),
        ("bank OR thank", DOC1),
        ("payment -thank", {(1, 1)}),
        ("payment NOT thank", {(1, 1)}),
        ("-thank payment", {(1, 1)}),
        ('income -"net income"', {(2, 2)}),
        ("(payment OR income) -rent", DOC1 | {(2, 1)}),
        ("pay*", DOC1 | {(4, 1)}),
        ("Incom*", DOC2),
        ("tax (return OR gains)", {(2, 1)}),
        ("e-mail", set()),
        ("120 euros", {(1, 1)}),
    ],
)
def test_query_forms(find, query: str, expected: set[tuple[int, int]]) -> None:
    assert find(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag:invoice", DOC1 | {(4, 1)}),
        ("tag:INVOICE payment", DOC1),
        ('tag:"tax office"', DOC2),
        ("tag:office", set()),
        ("tag:invoice OR tag:taxes", DOC1 | DOC2 | {(4, 1)}),
        ("-tag:invoice", DOC2 | {(5, 1)}),
        ("title:invoice", DOC1),
        ("title:invoices", DOC1),
        ('title:"tax return"', DOC2),
        ("title:electri*", DOC1),
        ('in:"Home/Bills"', DOC1 | {(4, 1)}),
        ("in:home/bills/2024", DOC1),
        ("in:Home/Bills/", DOC1 | {(4, 1)}),
        ("in:Home", DOC1 | DOC2 | {(4, 1), (5, 1)}),
        ("in:Bills", set()),
        ("type:invoice", DOC1),
        ('type:"Tax return"', DOC2),
        ("lang:fr", {(4, 1)}),
        ("lang:de", set()),
        ("created:2024", DOC1 | DOC2),
        ("created:2024-03", DOC1),
        ("created:2024-03-05", DOC1),
        ("created:>2024-03-05", DOC2),
        ("created:>=2024-03-05", DOC1 | DOC2),
        ("created:<2023-01-15", {(5, 1)}),
        ("created:<=2023-01-15", {(4, 1), (5, 1)}),
        ("created:2023-01-01..2023-12-31", {(4, 1)}),
        ("created:2022..2023", {(4, 1), (5, 1)}),
        ("created:2024-01-01..", DOC1 | DOC2),
        ("created:..2022-12", {(5, 1)}),
        ("modified:>=2024-01-10", DOC1 | DOC2 | {(5, 1)}),
        ("modified:2024-01", {(5, 1)}),
        ("insurance modified:2024 tag:car", {(5, 1)}),
    ],
)
def test_filters(find, query: str, expected: set[tuple[int, int]]) -> None:
    assert find(query) == expected


def test_words_are_stemmed_in_the_page_language(find) -> None:
    assert find("payments") == DOC1  # English plural finds the singular
    assert find("invoices") == {(1, 1)}
    assert find("rechnung", ("user:2",)) == {(3, 1)}  # German "Rechnungen"
    assert find("facture") == {(4, 1)}  # French "factures"
    # Stems are tagged with their language: the German stem of "rechnung" never
    # matches on an English page, while the literal word still finds any language.
    assert find("Rechnungen", ("user:1", "user:2")) == {(3, 1)}


def test_unknown_language_falls_back_to_plain_words(index: SearchIndex, make_page) -> None:
    index.replace_document(1, [make_page(1, 1, "invoices kept", language="xx")])
    index.replace_document(2, [make_page(2, 1, "invoices kept", language="tr")])
    assert index.search("invoices", principals=["user:1"]).total == 2
    assert index.search("invoice", principals=["user:1"]).total == 0


def test_stop_words_are_plain_words(find) -> None:
    assert (1, 1) in find("the")
    assert find('"for the year"') == {(2, 1)}


def test_exact_phrase_ranks_above_scattered_words(index: SearchIndex, make_page) -> None:
    filler = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    index.replace_document(1, [make_page(1, 1, f"net {filler} income {filler}")])
    index.replace_document(2, [make_page(2, 1, f"{filler} net income {filler}")])
    index.replace_document(3, [make_page(3, 1, f"income {filler} {filler} net")])
    results = index.search("net income", principals=["user:1"])
    assert results.hits[0].document_id == 2
    assert results.total == 3
    phrase = index.search('"net income"', principals=["user:1"])
    assert [hit.document_id for hit in phrase.hits] == [2]


def test_a_stranger_finds_nothing(find, library: SearchIndex) -> None:
    for query in ("payment", "in:Home", "tag:invoice", "created:2000..2030", "-zzz"):
        results = library.search(query, principals=["user:99"])
        assert (results.total, results.hits, results.tag_facets) == (0, [], {})
        assert library.search(query, principals=[]).total == 0
    assert find("in:Home", ("group:3",)) == DOC2  # shared with the group only
    assert find("income", ("user:2",)) == set()
    assert find("bezahlt", ("user:1",)) == set()


def test_tag_facets_count_matching_readable_pages(library: SearchIndex) -> None:
    results = library.search("tag:invoice", principals=["user:1"], limit=1)
    assert results.tag_facets == {"Invoice": 3, "Utilities": 2}
    assert len(results.hits) == 1 and results.total == 3
    everyone = library.search("in:Home", principals=["user:1", "user:2", "group:3"])
    assert everyone.tag_facets["Rechnung"] == 1
    assert library.search("in:Home", principals=["group:3"]).tag_facets == {
        "Tax Office": 2,
        "Taxes": 2,
    }


def test_snippets_mark_matches_and_escape_html(index: SearchIndex, make_page) -> None:
    text = (
        "Intro <b>bold</b> & more. " + "filler " * 60 + "Payments were made; the payment cleared."
    )
    index.replace_document(1, [make_page(1, 1, text)])
    hit = index.search("payment", principals=["user:1"]).hits[0]
    assert "<mark>Payments</mark>" in hit.snippet and "<mark>payment</mark>" in hit.snippet
    assert hit.matched_terms == ("Payments", "payment")
    assert hit.snippet.startswith("…")
    assert "<b>" not in hit.snippet
    first = index.search("bold", principals=["user:1"]).hits[0]
    assert "&lt;b&gt;<mark>bold</mark>&lt;/b&gt; &amp; more" in first.snippet
    assert first.matched_terms == ("bold",)
    negated = index.search("payment -bold", principals=["user:1"])
    assert negated.total == 0
    prefixed = index.search("pay* filler", principals=["user:1"]).hits[0]
    assert set(prefixed.matched_terms) == {"filler", "Payments", "payment"}


def test_a_phrase_marks_its_words_only_where_it_stands_whole(index: SearchIndex, make_page) -> None:
    text = "The end of a year. " + "filler " * 40 + "Close of the Year: the books of the firm."
    index.replace_document(1, [make_page(1, 1, text)])
    (hit,) = index.search('"of the" books', principals=["user:1"]).hits
    assert hit.snippet.count("<mark>of</mark> <mark>the</mark>") == 2
    assert "<mark>the</mark> <mark>books</mark>" not in hit.snippet  # "the" alone: not marked
    assert "<mark>books</mark>" in hit.snippet
    assert set(hit.phrase_only) == {"The", "of", "the"} and hit.phrases == (("of", "the"),)
    # A word the query also asks for alone is marked everywhere.
    (both,) = index.search('"of the" the', principals=["user:1"]).hits
    assert both.phrase_only == ("of",)
    assert "Year: <mark>the</mark> books" in both.snippet


def test_grouping_by_document(index: SearchIndex, make_page) -> None:
    pages = [make_page(1, n, "lorem " * n + "ipsum", tags=("Big",)) for n in range(1, 6)]
    index.replace_document(1, pages)
    index.replace_document(2, [make_page(2, 1, "lorem")])
    index.replace_document(3, [make_page(3, 1, "other")])
    results = index.search("lorem", principals=["user:1"], group_by_document=True)
    assert results.total == 2
    assert sorted(hit.document_id for hit in results.hits) == [1, 2]
    first = next(hit for hit in results.hits if hit.document_id == 1)
    assert 1 <= len(first.pages) <= 3
    assert first.pages[0].page_number == first.page_number
    assert len({page.page_number for page in first.pages}) == len(first.pages)
    flat = index.search("lorem", principals=["user:1"])
    assert flat.total == 6
    assert results.tag_facets == flat.tag_facets == {"Big": 5}  # facets count pages


@pytest.mark.parametrize("grouped", [False, True])
def test_paging_is_consistent_with_total(index: SearchIndex, make_page, grouped: bool) -> None:
    for document_id in range(1, 24):
        pages = 1 + document_id % 3
        index.replace_documents(
            {
                document_id: [
                    make_page(document_id, n, f"zebra {'x ' * n}") for n in range(1, pages + 1)
                ]
            }
        )
    everything = index.search("zebra", principals=["user:1"], limit=1000, group_by_document=grouped)
    seen = []
    for offset in range(0, everything.total + 10, 10):
        batch = index.search(
            "zebra", principals=["user:1"], limit=10, offset=offset, group_by_document=grouped
        )
        assert batch.total == everything.total
        assert len(batch.hits) == max(0, min(10, everything.total - offset))
        seen += [(hit.document_id, hit.page_number) for hit in batch.hits]
    assert seen == [(hit.document_id, hit.page_number) for hit in everything.hits]
    assert len(set(seen)) == everything.total == (23 if grouped else 47)


def test_limit_offset_and_principals_are_checked(index: SearchIndex) -> None:
    for limit, offset in ((0, 0), (1001, 0), (10, -1)):
        with pytest.raises(ValueError, match="limit"):
            index.search("x", principals=["user:1"], limit=limit, offset=offset)
    with pytest.raises(TypeError, match="not one string"):
        index.search("x", principals="user:1")


def test_naive_datetimes_are_utc(index: SearchIndex, make_page) -> None:
    naive = datetime(2024, 6, 1, 0, 30)
    index.replace_document(1, [make_page(1, 1, "late", created=naive)])
    assert index.search("created:2024-06-01", principals=["user:1"]).total == 1
    aware = datetime(2024, 6, 1, 0, 30, tzinfo=UTC)
    assert naive.replace(tzinfo=UTC) == aware


def test_accents_are_folded_and_exact_forms_rank_first(index: SearchIndex, make_page) -> None:
    index.replace_document(1, [make_page(1, 1, "Décoration intérieure et façade.", language="fr")])
    index.replace_document(
        2, [make_page(2, 1, "Decoration interieure sans accents.", language="fr")]
    )
    index.replace_document(3, [make_page(3, 1, "Nothing of the sort here.")])

    def ranked(query: str) -> list[int]:
        return [hit.document_id for hit in index.search(query, principals=["user:1"]).hits]

    assert ranked("interieure") == [2, 1]
    assert ranked("intérieure") == [1, 2]
    assert ranked("INTÉRIEURE") == [1, 2]
    assert ranked("facade") == [1]
    assert ranked('"decoration interieure"') == [2, 1]
    assert ranked('"décoration intérieure"') == [1, 2]
    assert ranked("interi*") == [2, 1]
    assert ranked("title:document interieure") == [2, 1]
    hit = index.search("interieure", principals=["user:1"]).hits[1]
    assert hit.document_id == 1 and "<mark>intérieure</mark>" in hit.snippet
    assert hit.matched_terms == ("intérieure",)


def test_cjk_text_is_found_by_its_bigrams(index: SearchIndex, make_page) -> None:
    index.replace_document(
        1, [make_page(1, 1, "宇宙塵は星間物質の一種です。Cosmic dust.", language="ja")]
    )
    index.replace_document(2, [make_page(2, 1, "宇宙の塵と星", language="ja")])
    index.replace_document(3, [make_page(3, 1, "塵", language="ja")])

    def found(query: str) -> list[int]:
        return sorted(hit.document_id for hit in index.search(query, principals=["user:1"]).hits)

    assert found("宇宙塵") == [1]  # its bigrams must stand together
    assert found("星間物質") == [1]
    assert found("宇宙") == [1, 2]
    assert found("塵宇宙") == []
    assert found("宇宙塵 dust") == [1]
    assert found("塵") == [3]  # a lone character is indexed as itself
    hit = index.search("宇宙塵", principals=["user:1"]).hits[0]
    assert hit.snippet.startswith("<mark>宇</mark><mark>宙</mark><mark>塵</mark>は")


@pytest.mark.parametrize("grouped", [False, True])
def test_bounded_counting_keeps_hits_and_paging_right(
    index: SearchIndex, make_page, grouped: bool
) -> None:
    """Without facets an engine may stop counting after ``exact_up_to`` matches: the hits
    and whether a next page exists stay those of a full count; a total said to be exact
    is; facets asked for count everything."""
    for document_id in range(1, 41):
        readers = ("user:1",) if document_id % 4 else ("user:2",)  # the filter matters
        pages = [
            make_page(document_id, n, f"zebra {'x ' * (document_id % 7 + n)}", readers=readers)
            for n in range(1, 2 + document_id % 3)
        ]
        index.replace_documents({document_id: pages})
    full = index.search("zebra", principals=["user:1"], limit=1000, group_by_document=grouped)
    assert full.total_exact and full.total == (30 if grouped else 60)
    seen = []
    for offset in range(0, full.total + 10, 7):
        batch = index.search(
            "zebra", principals=["user:1"], limit=7, offset=offset, group_by_document=grouped,
            tag_facets=False, exact_up_to=5,
        )  # fmt: skip
        assert batch.tag_facets == {}
        assert len(batch.hits) == max(0, min(7, full.total - offset))
        assert (offset + len(batch.hits) < batch.total) == (offset + 7 < full.total)
        assert batch.total >= min(offset + len(batch.hits), full.total)
        if batch.total_exact:
            assert batch.total == full.total
        seen += [(hit.document_id, hit.page_number) for hit in batch.hits]
    assert seen == [(hit.document_id, hit.page_number) for hit in full.hits]
    counted = index.search(
        "zebra", principals=["user:1"], limit=7, group_by_document=grouped, exact_up_to=5
    )
    assert counted.total_exact and counted.total == full.total
