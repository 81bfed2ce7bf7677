"""Several processes writing one index at once: they wait for each other, nothing is lost."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

from archivist.indexes import SearchIndex

OpenEngine = Callable[..., SearchIndex]  # the open_engine fixture
WRITERS = 2
DOCUMENTS_EACH = 25


def write_documents(open_engine: OpenEngine, path: str, writer: int, page_record) -> None:
    """Index this writer's documents one commit at a time, and rewrite a shared one."""
    with open_engine(path) as index:
        for n in range(DOCUMENTS_EACH):
            document_id = writer * 1000 + n
            index.replace_document(
                document_id, [page_record(document_id, 1, f"concurrent writer{writer} n{n}")]
            )
            index.replace_document(
                1, [page_record(1, 1, f"shared by writer{writer}", version_id=writer)]
            )


def test_concurrent_writers_lose_nothing(
    open_engine: OpenEngine, tmp_path: Path, make_page
) -> None:
    path = str(tmp_path / "index")
    open_engine(path).close()
    context = multiprocessing.get_context("fork")  # fork: the writers share our fixtures
    processes = [
        context.Process(target=write_documents, args=(open_engine, path, writer, make_page))
        for writer in range(1, WRITERS + 1)
    ]
    for process in processes:
        process.start()
    with open_engine(path) as reader:
        while any(process.is_alive() for process in processes):
            reader.search("concurrent", principals=["user:1"])  # never blocks, never fails
        for process in processes:
            process.join(60)
            assert process.exitcode == 0
        versions = reader.document_versions()
        expected = {w * 1000 + n for w in range(1, WRITERS + 1) for n in range(DOCUMENTS_EACH)}
        assert set(versions) == expected | {1}
        assert reader.search("concurrent", principals=["user:1"]).total == len(expected)
        assert reader.search("shared", principals=["user:1"]).total == 1
        assert reader.page_count() == len(expected) + 1
