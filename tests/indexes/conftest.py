"""Fixtures for the search contract suite: every test runs against both engines, and against
Xapian's remote backend (a real ``xapian-tcpsrv`` serving the index folder)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from xapian_server import xapian_server

from archivist.indexes import PageRecord, SearchIndex, open_index

# "xapian-remote": the xapian engine through xapian-tcpsrv (ARCHIVIST_XAPIAN_REMOTE).
ENGINES = ("xapian", "whoosh", "xapian-remote")
BENCH_SCRIPT = Path(__file__).parents[2] / "scripts" / "bench" / "search_engines.py"

MakePage = Callable[..., PageRecord]
OpenEngine = Callable[..., SearchIndex]


def page_record(
    document_id: int = 1, page_number: int = 1, text: str = "", **overrides: Any
) -> PageRecord:
    values: dict[str, Any] = {
        "document_id": document_id,
        "version_id": document_id * 100 + 1,
        "page_number": page_number,
        "title": f"Document {document_id}",
        "tags": (),
        "folder_path": ("Home",),
        "document_type": None,
        "language": "en",
        "owner_id": 1,
        "readers": ("user:1",),
        "created": datetime(2024, 1, 1, tzinfo=UTC),
        "modified": datetime(2024, 1, 1, tzinfo=UTC),
        "text": text,
    }
    values.update(overrides)
    return PageRecord(**values)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class EngineOpener:
    """``opener(path, **options)`` opens the engine's index at folder ``path``; for
    "xapian-remote", through a ``xapian-tcpsrv`` serving that folder (one per folder, all
    stopped by :meth:`close`). Forked processes may call it for a folder opened before."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.servers: dict[Path, str] = {}
        self._stack = ExitStack()

    def __call__(self, path: str | Path, **options: Any) -> SearchIndex:
        if self.engine != "xapian-remote":
            return open_index(self.engine, path, **options)
        folder = Path(path)
        if folder not in self.servers:
            self.servers[folder] = self._stack.enter_context(xapian_server(folder))
        return open_index("xapian", path, remote=self.servers[folder], **options)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def open_engine(engine: str) -> Iterator[OpenEngine]:
    opener = EngineOpener(engine)
    yield opener
    opener.close()


@pytest.fixture
def index(open_engine: OpenEngine, tmp_path: Path) -> Iterator[SearchIndex]:
    with open_engine(tmp_path / "index") as opened:
        yield opened


@pytest.fixture
def make_page() -> MakePage:
    return page_record


@pytest.fixture(scope="session")
def bench() -> ModuleType:
    """The benchmark script, loaded by path as other scripts load its corpus generator."""
    spec = importlib.util.spec_from_file_location("search_engines_bench", BENCH_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def day(year: int, month: int, day_: int) -> datetime:
    return datetime(year, month, day_, 12, tzinfo=UTC)


@pytest.fixture(scope="session", params=ENGINES)
def library(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchIndex]:
    """A small, hand-written set of documents that the query tests search (read only,
    so it is built once per engine)."""
    opener = EngineOpener(str(request.param))
    request.addfinalizer(opener.close)
    index = opener(tmp_path_factory.mktemp("library") / "index")
    p = page_record
    index.replace_document(1, [
        p(1, 1, "Invoice for electricity. The total amount due is 120 euros."
                " Payment by bank transfer.",
          title="Electricity invoice March", tags=("Invoice", "Utilities"),
          folder_path=("Home", "Bills", "2024"), document_type="Invoice",
          created=day(2024, 3, 5), modified=day(2024, 3, 5)),
        p(1, 2, "Thank you for your payment. Customer number 4711.",
          title="Electricity invoice March", tags=("Invoice", "Utilities"),
          folder_path=("Home", "Bills", "2024"), document_type="Invoice",
          created=day(2024, 3, 5), modified=day(2024, 3, 5)),
    ])  # fmt: skip
    tax = {
        "title": "Annual tax return", "tags": ("Taxes", "Tax Office"),
        "folder_path": ("Home", "Taxes", "2023"), "document_type": "Tax return",
        "readers": ("user:1", "group:3"), "created": day(2024, 5, 20), "modified": day(2024, 5, 20),
    }  # fmt: skip
    index.replace_document(2, [
        p(2, 1, "Net income for the year was reported on the annual tax return.", **tax),
        p(2, 2, "Income from rent and net gains are listed.", **tax),
    ])  # fmt: skip
    index.replace_document(3, [
        p(3, 1, "Die Rechnungen für Strom wurden bezahlt. Gesamtbetrag 80 Euro.",
          title="Stromrechnung", tags=("Rechnung",), folder_path=("Home", "Rechnungen"),
          document_type="Invoice", language="de", owner_id=2, readers=("user:2",),
          created=day(2023, 11, 11), modified=day(2023, 11, 11)),
    ])  # fmt: skip
    index.replace_document(4, [
        p(4, 1, "Les factures de l'internet sont payées par virement.",
          title="Facture internet", tags=("Invoice",), folder_path=("Home", "Bills"),
          language="fr", created=day(2023, 1, 15), modified=day(2023, 1, 15)),
    ])  # fmt: skip
    index.replace_document(5, [
        p(5, 1, "The insurance policy covers damage to the car. Claims must be filed"
                " within 30 days.",
          title="Car insurance policy", tags=("Insurance", "Car"),
          folder_path=("Home", "Insurance"),
          created=day(2022, 7, 1), modified=day(2024, 1, 10)),
    ])  # fmt: skip
    yield index
    index.close()


Find = Callable[..., set[tuple[int, int]]]


@pytest.fixture
def find(library: SearchIndex) -> Find:
    """``find(query, principals=...)``: the (document, page) pairs found, all of them."""

    def run(
        query: str, principals: tuple[str, ...] = ("user:1", "group:3")
    ) -> set[tuple[int, int]]:
        results = library.search(query, principals=principals, limit=1000)
        found = {(hit.document_id, hit.page_number) for hit in results.hits}
        assert results.total == len(found) == len(results.hits)
        return found

    return run
