"""Both engines find the same pages for the same queries over one generated corpus."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import xapian
from whoosh.lang import stemmer_for_language

from archivist.indexes import SearchIndex, open_index
from archivist.indexes.analysis import STEMMED_LANGUAGES

PAGES = 300
PRINCIPALS = [
    ["user:1", "group:1", "group:2"],
    [f"user:{n}" for n in range(1, 51)] + [f"group:{n}" for n in range(1, 21)],
    ["user:7"],
]


@pytest.fixture(scope="module")
def indexes(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SearchIndex]:
    corpus = dict(bench.generate_corpus(PAGES, seed=3, words_per_page=(20, 60)))
    opened = {}
    for engine in ("xapian", "whoosh"):
        index = open_index(engine, tmp_path_factory.mktemp(engine) / "index")
        index.replace_documents(corpus)
        opened[engine] = index
    return opened


def queries(bench: ModuleType) -> list[str]:
    vocabulary = bench.make_vocabulary(seed=3)
    common, middle, rare = vocabulary[60], vocabulary[400], vocabulary[3000]
    return [
        "payment", "payments", "invoice total", f"{common} {middle}", f"{common} OR {rare}",
        f"{common} -{middle}", f'"{vocabulary[0]} {vocabulary[1]}"', '"of the"', "pay*", "ch*",
        "tag:tax", "tag:tax OR tag:bank", f"{common} tag:invoice", 'in:"Home/Taxes"',
        "type:letter", "lang:de", f"lang:fr {common}", "created:2021", "created:>2023-06-01",
        "modified:2020-01..2020-06", f"title:{vocabulary[100]}", "-the", "(invoice OR bank) -tax",
        "created:2019..2020 tag:car", "in:inbox payment",
    ]  # fmt: skip


@pytest.mark.parametrize("principals", PRINCIPALS, ids=["user", "everyone", "other"])
def test_same_pages_totals_and_facets(
    indexes: dict[str, SearchIndex], bench: ModuleType, principals: list[str]
) -> None:
    compared = 0
    for query in queries(bench):
        got = {}
        for engine, index in indexes.items():
            results = index.search(query, principals=principals, limit=1000)
            grouped = index.search(query, principals=principals, group_by_document=True, limit=5)
            pages = {(hit.document_id, hit.page_number) for hit in results.hits}
            got[engine] = (results.total, pages, results.tag_facets, grouped.total)
        assert got["xapian"] == got["whoosh"], query
        compared += bool(got["xapian"][0])
    assert compared >= 5  # enough queries find something for the comparison to mean much


def test_the_stemmers_of_both_engines_agree(bench: ModuleType) -> None:
    extra = (
        "invoices running generalization rechnungen häuser straße factures marchés élève"
        " organisations pagamenti facturas betalningar maksut számlák betalinger rekeningen"
    )
    samples = [*bench.make_vocabulary(size=5000, seed=5), *extra.split()]
    for language in sorted(STEMMED_LANGUAGES):
        theirs, ours = stemmer_for_language(language), xapian.Stem(language)
        differ = [w for w in samples if theirs(w) != ours(w).decode()]
        assert not differ, (language, differ[:5])


def test_generated_corpus_is_deterministic(bench: ModuleType, tmp_path: Path) -> None:
    first = list(bench.generate_corpus(50, seed=1))
    assert first == list(bench.generate_corpus(50, seed=1))
    assert sum(len(records) for _, records in first) == 50
    assert first != list(bench.generate_corpus(50, seed=2))
