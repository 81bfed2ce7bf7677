"""Pages are read in a child process whose memory and time limits hold, even inside PDFium."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samples import nested_forms_pdf, text_pdf

from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.page_reader import PageReader, ReadRequest


@pytest.fixture
def bomb(tmp_path: Path) -> Path:
    path = tmp_path / "forms.pdf"
    path.write_bytes(nested_forms_pdf())
    assert path.stat().st_size < 4096
    return path


@pytest.fixture
def reader_factory() -> Iterator[Any]:
    readers: list[PageReader] = []

    def make(**limits: Any) -> PageReader:
        readers.append(PageReader(**limits))
        return readers[-1]

    yield make
    for reader in readers:
        reader.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_page_reads_like_in_process_and_the_child_is_reused(
    tmp_path: Path, reader_factory: Any
) -> None:
    from archivist.core.pdf import render_page
    from archivist.core.text_layer import read_text_layer

    pdf = text_pdf(tmp_path / "t.pdf", [["hello", "world"], ["second", "page"]])
    reader = reader_factory(memory_mib=512, timeout=60)
    for index in (0, 1):
        content = reader.read(ReadRequest(str(pdf), index, 150))
        own = render_page(pdf, index, 150)
        assert content.rendered.image.tobytes() == own.image.tobytes()
        assert content.rendered.scale == own.scale
        assert content.rendered.image.info["dpi"] == own.image.info["dpi"]
        assert content.text_layer == read_text_layer(pdf, index)
    assert reader.starts == 1
    with pytest.raises(DocumentError) as caught:
        reader.read(ReadRequest(str(pdf), 5, 150))
    assert caught.value.code is DocumentErrorCode.PAGE_OUT_OF_RANGE
    assert reader.starts == 1  # an ordinary refusal keeps the child


def test_a_page_over_the_memory_limit_fails_and_the_next_one_works(
    tmp_path: Path, bomb: Path, reader_factory: Any
) -> None:
    reader = reader_factory(memory_mib=256, timeout=120)
    good = text_pdf(tmp_path / "t.pdf", [["fine"]])
    reader.read(ReadRequest(str(good), 0, 150))
    first_child = reader.pid
    with pytest.raises(DocumentError) as caught:
        reader.read(ReadRequest(str(bomb), 0, 150))
    assert caught.value.code is DocumentErrorCode.PAGE_TOO_COMPLEX
    assert "more than 256 MiB" in caught.value.message
    assert first_child is not None and not _alive(first_child)
    assert reader.read(ReadRequest(str(good), 0, 150)).text_layer.words[0].text == "fine"
    assert reader.starts == 2


def test_a_page_over_the_time_limit_is_stopped_in_time(
    tmp_path: Path, bomb: Path, reader_factory: Any
) -> None:
    # Memory enough for PDFium to work on for 40 s: only the time limit can stop it.
    reader = reader_factory(memory_mib=8192, timeout=2)
    good = text_pdf(tmp_path / "t.pdf", [["fine"]])
    reader.read(ReadRequest(str(good), 0, 150))  # the child is up: time the page alone
    child = reader.pid
    start = time.monotonic()
    with pytest.raises(DocumentError) as caught:
        reader.read(ReadRequest(str(bomb), 0, 150))
    elapsed = time.monotonic() - start
    assert caught.value.code is DocumentErrorCode.PAGE_TOO_COMPLEX
    assert "took more than 2 s" in caught.value.message
    assert elapsed < 5, elapsed
    assert child is not None and not _alive(child)
    assert reader.read(ReadRequest(str(good), 0, 150)).text_layer.words[0].text == "fine"


def test_an_interrupted_read_does_not_leave_its_answer_for_the_next(
    tmp_path: Path, bomb: Path, reader_factory: Any
) -> None:
    """RQ's job timeout raises inside the wait; the busy child must not answer the next page."""
    import signal

    reader = reader_factory(memory_mib=8192, timeout=60)
    good = text_pdf(tmp_path / "t.pdf", [["fine"]])

    class JobTimeout(Exception):
        pass

    def interrupt(signum: int, frame: Any) -> None:
        raise JobTimeout()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.alarm(2)
        with pytest.raises(JobTimeout):
            reader.read(ReadRequest(str(bomb), 0, 150))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert reader.read(ReadRequest(str(good), 0, 150)).text_layer.words[0].text == "fine"
