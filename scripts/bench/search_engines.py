"""Benchmark the search engines on a generated corpus; reusable corpus generator.

Run: ``.venv/bin/python scripts/bench/search_engines.py [--pages 10000 100000]``

For each size and engine it builds an index from scratch and prints, as it goes: pages
indexed per second, index size on disk, and p50/p95/p99 latency of a fixed query mix.

Other scripts reuse the corpus by loading this file by path::

    spec = importlib.util.spec_from_file_location("search_engines", path_to_this_file)
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    for document_id, records in module.generate_corpus(1000): ...

The corpus is deterministic for a given seed: a Zipf-distributed vocabulary of
real-looking words (a core of common English and office words, then made-up words from
syllables), documents of 1-12 pages with titles, tags, folders, types, languages,
owners and shares. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archivist.indexes import PageRecord, SearchIndex, open_index

_CORE_TEXT = (
    "the of and to in a is that for it as was with be by on not he this are or his from at"
    " which but have an they you were her she there been one all we their has would when if"
    " so no will can more other its into than them these some could time only may new about"
    " invoice payment total amount tax account date number customer order contract"
    " insurance bank statement balance period due net gross income report policy service"
    " address phone email price quantity receipt signature office letter company reference"
    " annual agreement rent salary employee pension health claim refund credit debit"
    " transfer"
)
CORE_WORDS = tuple(_CORE_TEXT.split())
_TAGS_TEXT = (
    "invoice receipt tax insurance contract bank health car house pension salary utilities"
    " travel warranty medical school legal important todo archive 2021 2022 2023 2024"
)
TAGS = tuple(_TAGS_TEXT.split())
TYPES = ("Invoice", "Receipt", "Letter", "Contract", "Statement", "Certificate", None)
FOLDERS = (
    ("Home",),
    ("Home", "Taxes"),
    ("Home", "Taxes", "2023"),
    ("Home", "Taxes", "2024"),
    ("Home", "Insurance"),
    ("Home", "Bank"),
    ("Home", "House", "Repairs"),
    ("Inbox",),
)
LANGUAGES = ("en",) * 8 + ("de", "fr")
USERS = 50
GROUPS = 20
_ONSETS_TEXT = "b br c ch cl d dr f fl g gr h j k l m n p pl pr r s sh st t tr v w z"
_ONSETS = tuple(_ONSETS_TEXT.split())
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "io", "ou"]
_CODAS = ["", "", "n", "r", "s", "t", "l", "nd", "st", "ck", "m"]


def make_vocabulary(size: int = 30_000, seed: int = 0) -> list[str]:
    """``size`` distinct words, most frequent first: the core words, then invented ones."""
    rng = random.Random(seed)
    found = dict.fromkeys(CORE_WORDS)
    while len(found) < size:
        syllables = rng.choice((1, 2, 2, 3, 3, 4))
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        found.setdefault(word, None)
    return list(found)


def generate_corpus(
    pages: int, *, seed: int = 0, words_per_page: tuple[int, int] = (120, 400)
) -> Iterator[tuple[int, list[PageRecord]]]:
    """Yield ``(document_id, page records)`` until ``pages`` pages have been produced.

    Word frequencies follow Zipf's law (exponent 1.07) over :func:`make_vocabulary`.
    Each document belongs to one of ``USERS`` owners (``user:N``), and a third are shared
    with one or two of ``GROUPS`` groups (``group:N``). Same seed, same corpus.
    """
    rng = random.Random(seed)
    vocabulary = make_vocabulary(seed=seed)
    cumulative = list(
        itertools.accumulate(1.0 / rank**1.07 for rank in range(1, len(vocabulary) + 1))
    )
    epoch = datetime(2019, 1, 1, tzinfo=UTC)
    produced, document_id = 0, 0
    while produced < pages:
        document_id += 1
        count = min(pages - produced, rng.choice((1, 1, 1, 2, 2, 3, 4, 6, 12)))
        owner = rng.randrange(1, USERS + 1)
        readers = [f"user:{owner}"]
        if rng.random() < 1 / 3:
            readers += [f"group:{rng.randrange(1, GROUPS + 1)}" for _ in range(rng.choice((1, 2)))]
        created = epoch + timedelta(seconds=rng.randrange(6 * 365 * 86400))
        modified = created + timedelta(seconds=rng.randrange(90 * 86400))
        title = " ".join(rng.choices(vocabulary[:3000], k=rng.randrange(2, 6))).capitalize()
        tags = tuple(sorted(set(rng.sample(TAGS, rng.choice((0, 1, 1, 2, 3))))))
        folder = rng.choice(FOLDERS)
        document_type = rng.choice(TYPES)
        language = rng.choice(LANGUAGES)
        records = []
        for page_number in range(1, count + 1):
            size = rng.randrange(*words_per_page)
            text = " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=size))
            records.append(
                PageRecord(
                    document_id=document_id,
                    version_id=document_id * 10 + 1,
                    page_number=page_number,
                    title=title,
                    tags=tags,
                    folder_path=folder,
                    document_type=document_type,
                    language=language,
                    owner_id=owner,
                    readers=tuple(readers),
                    created=created,
                    modified=modified,
                    text=text,
                )
            )
        produced += count
        yield document_id, records


def query_mix(seed: int = 0) -> list[tuple[str, str, list[str]]]:
    """The fixed queries measured: ``(name, query, principals)``.

    A typical user (own documents and three groups) runs most of them; the last one is a
    principal list of every user and group, as an administrator or a large team has.
    """
    vocabulary = make_vocabulary(seed=seed)
    user = ["user:1", "group:1", "group:2", "group:3"]
    everyone = [f"user:{n}" for n in range(1, USERS + 1)]
    everyone += [f"group:{n}" for n in range(1, GROUPS + 1)]
    return [
        ("common word", "payment", user),
        ("rare word", vocabulary[2_000], user),
        ("two words", "invoice total", user),
        ("phrase", '"of the"', user),
        ("prefix", "pay*", user),
        ("word + tag", "payment tag:tax", user),
        ("word, 70 readers", "payment", everyone),
    ]


def folder_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def build(index: SearchIndex, pages: int, batch_pages: int = 1000) -> float:
    """Index ``pages`` generated pages in batches; return the seconds spent indexing."""
    spent = 0.0
    batch: dict[int, list[PageRecord]] = {}
    in_batch = done = 0
    for document_id, records in generate_corpus(pages):
        batch[document_id] = records
        in_batch += len(records)
        if in_batch >= batch_pages:
            started = time.perf_counter()
            index.replace_documents(batch)
            spent += time.perf_counter() - started
            done += in_batch
            batch, in_batch = {}, 0
            print(f"    {done:>7} pages, {done / spent:,.0f} pages/s", flush=True)
    started = time.perf_counter()
    index.replace_documents(batch)
    spent += time.perf_counter() - started
    return spent


def measure(index: SearchIndex, rounds: int) -> tuple[list[float], dict[str, tuple[float, int]]]:
    """Run the query mix ``rounds`` times; return all latencies (ms) and, per query, the
    median latency and the number of hits."""
    latencies: list[float] = []
    per_query: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    mix = query_mix()
    for name, query, principals in mix:  # warm up caches once, as a running server has
        totals[name] = index.search(query, principals=principals).total
    for _ in range(rounds):
        for name, query, principals in mix:
            started = time.perf_counter()
            index.search(query, principals=principals)
            elapsed = (time.perf_counter() - started) * 1000
            latencies.append(elapsed)
            per_query.setdefault(name, []).append(elapsed)
    return latencies, {
        name: (statistics.median(values), totals[name]) for name, values in per_query.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[10_000])
    parser.add_argument("--engines", nargs="+", default=["xapian", "whoosh"])
    parser.add_argument("--rounds", type=int, default=30, help="times the query mix runs")
    args = parser.parse_args(argv)
    rows = []
    header = (
        f"{'engine':<8} {'pages':>8} {'pages/s':>9} {'size MB':>8}"
        f" {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    )
    for pages in args.pages:
        for engine in args.engines:
            folder = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
            try:
                print(f"{engine}, {pages} pages: indexing…", flush=True)
                with open_index(engine, folder / "index") as index:
                    seconds = build(index, pages)
                    size = folder_size(folder) / 1e6
                    print(
                        f"  indexed in {seconds:.1f} s ({pages / seconds:,.0f} pages/s),"
                        f" {size:.1f} MB on disk",
                        flush=True,
                    )
                    latencies, per_query = measure(index, args.rounds)
                for name, (median, total) in per_query.items():
                    print(f"  {name:<18} median {median:8.2f} ms  ({total} hits)", flush=True)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            row = (
                f"{engine:<8} {pages:>8} {pages / seconds:>9,.0f} {size:>8.1f}"
                f" {percentile(latencies, 0.5):>8.2f} {percentile(latencies, 0.95):>8.2f}"
                f" {percentile(latencies, 0.99):>8.2f}"
            )
            print(header + "\n" + row, flush=True)
            rows.append(row)
    print("\n" + header + "\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
