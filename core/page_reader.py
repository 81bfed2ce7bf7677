"""Read a PDF page (render it, take its text layer) in a child process with limits that hold.

PDFium cannot be interrupted in the middle of a page, and a few KiB of nested form XObjects can
make it allocate gigabytes and work for minutes. So a worker never renders in its own process:
one persistent child per worker (:class:`PageReader`) does it, under an address-space limit
(``RLIMIT_AS``, set by the child on itself) and a wall-clock limit that the parent enforces by
killing the child. A page over either limit fails with ``PAGE_TOO_COMPLEX``; the worker goes on,
and the next page gets a fresh child. The child lives as long as the worker, so the cost per page
is one round trip through a pipe, not a process start (see ``scripts/bench/page_reader.py``).

The protocol (see :mod:`archivist.core.page_reader_child`): the parent writes a pickled
:class:`ReadRequest`, the child answers with a pickled :class:`ReadReply` followed by the page's
raw pixels; a frame starts with both lengths (8 bytes each, big-endian). The pixels travel
outside the pickle so that they are copied as few times as possible. Only our own child writes
what the parent unpickles.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from PIL import Image

from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.pdf import MAX_RENDER_PIXELS, RenderedPage
from archivist.core.text_layer import TextLayer

CHILD_MODULE = "archivist.core.page_reader_child"
_LENGTH_BYTES = 8
# A bigger pipe buffer means fewer wake-ups while 25 MB of pixels go through (Linux only).
_PIPE_BYTES = 1024 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# A reply larger than this is not something our child sends (an A3 page at 300 dpi as RGB is
# 52 MB): it is a broken pipe protocol, and the child is replaced.
_MAX_REPLY_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """Render page ``page_index`` (0-based) of ``pdf_path`` and read its text layer."""

    pdf_path: str
    page_index: int
    dpi: float
    max_pixels: int = MAX_RENDER_PIXELS


@dataclass(frozen=True, slots=True)
class ReadReply:
    """What the child answers: the page as raw pixels and its words, or the reason it failed.

    ``error_code`` is a :class:`DocumentErrorCode` value when the page cannot be read;
    ``memory_error`` says the child ran out of its memory (it exits after sending this);
    ``failure`` describes an unexpected exception in the child.
    """

    mode: str = ""
    size: tuple[int, int] = (0, 0)
    scale: float = 0.0
    text_layer: TextLayer = field(default_factory=lambda: TextLayer([]))
    error_code: str | None = None
    error_message: str = ""
    memory_error: bool = False
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class PageContent:
    """A page read by the child: its rendering and its own text layer."""

    rendered: RenderedPage
    text_layer: TextLayer


def write_frame(stream: IO[bytes], payload: object, raw: bytes = b"") -> None:
    """Pickle ``payload`` onto ``stream``, then ``raw`` as it is; both lengths first."""
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(_LENGTH_BYTES, "big"))
    stream.write(len(raw).to_bytes(_LENGTH_BYTES, "big"))
    stream.write(data)
    stream.write(raw)
    stream.flush()


def widen_pipe(fd: int) -> None:
    """Give the pipe ``fd`` a larger buffer where the system allows it."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)


def _too_complex(reason: str) -> DocumentError:
    return DocumentError(
        DocumentErrorCode.PAGE_TOO_COMPLEX,
        f"This page is too complex to render ({reason}); export or print it to a simpler PDF.",
    )


class _ChildDied(Exception):
    """The child closed its end of the pipe (it crashed or was killed)."""


class PageReader:
    """A persistent child process that reads pages under a memory and a time limit.

    Thread-safe (one request at a time). The child starts on first use and again after it dies.
    ``memory_mib`` is the address space a page may take beyond what the child holds after its
    imports; ``timeout`` the seconds one page may take.
    """

    def __init__(self, *, memory_mib: int, timeout: float) -> None:
        self.memory_mib = memory_mib
        self.timeout = timeout
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self.starts = 0  # how many children were started (for tests and benchmarks)

    @property
    def pid(self) -> int | None:
        """The live child's process id, if one is running."""
        return self._child.pid if self._child is not None else None

    def read(self, request: ReadRequest) -> PageContent:
        """Render the page and read its text layer in the child.

        Raises :class:`DocumentError`: ``PAGE_TOO_COMPLEX`` (over the memory or time limit, or
        the renderer crashed on this page), ``BROKEN_PDF``, ``ENCRYPTED``,
        ``PAGE_OUT_OF_RANGE``; ``RuntimeError`` for an unexpected failure in the child (worth a
        retry); ``OSError`` when no child can be started.
        """
        with self._lock:
            child = self._ensure_child()
            try:
                assert child.stdin is not None
                write_frame(child.stdin, request)
                reply, pixels = self._receive(child)
            except _ChildDied:
                self._stop_child()
                raise _too_complex(
                    f"the renderer needed more than {self.memory_mib} MiB or crashed"
                ) from None
            except TimeoutError:
                self._stop_child()
                raise _too_complex(f"rendering took more than {self.timeout:g} s") from None
            except BaseException:
                # Interrupted (a job timeout, Ctrl-C) or a broken pipe: the child may still be
                # busy with this request, so its next answer could be this one. Start afresh.
                self._stop_child()
                raise
        if reply.memory_error:
            self._stop_child()
            raise _too_complex(f"rendering needed more than {self.memory_mib} MiB")
        if reply.failure is not None:
            raise RuntimeError(f"the page reader failed: {reply.failure}")
        if reply.error_code is not None:
            raise DocumentError(DocumentErrorCode(reply.error_code), reply.error_message)
        image = Image.frombytes(reply.mode, reply.size, pixels)
        image.info["dpi"] = (reply.scale * 72.0, reply.scale * 72.0)
        return PageContent(RenderedPage(image, reply.scale, reply.scale * 72.0), reply.text_layer)

    def close(self) -> None:
        """Stop the child (a later :meth:`read` starts a new one)."""
        with self._lock:
            self._stop_child()

    def _ensure_child(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self._stop_child()
        self._child = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE, str(self.memory_mib)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self.starts += 1
        assert self._child.stdout is not None
        widen_pipe(self._child.stdout.fileno())
        return self._child

    def _receive(self, child: subprocess.Popen[bytes]) -> tuple[ReadReply, bytearray]:
        assert child.stdout is not None
        deadline = time.monotonic() + self.timeout
        fd = child.stdout.fileno()
        header = _read_exactly(fd, 2 * _LENGTH_BYTES, deadline)
        length = int.from_bytes(header[:_LENGTH_BYTES], "big")
        raw_length = int.from_bytes(header[_LENGTH_BYTES:], "big")
        if length + raw_length > _MAX_REPLY_BYTES:
            raise _ChildDied()
        # The page is rendered once the lengths arrive; the rest is a copy through the pipe.
        deadline += 30
        reply = pickle.loads(_read_exactly(fd, length, deadline))
        if not isinstance(reply, ReadReply):
            raise _ChildDied()
        return reply, _read_exactly(fd, raw_length, deadline)

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _read_exactly(fd: int, count: int, deadline: float) -> bytearray:
    """``count`` bytes from the pipe ``fd``; TimeoutError past ``deadline``, _ChildDied at EOF."""
    buffer = bytearray(count)
    view = memoryview(buffer)
    done = 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while done < count:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError()
            received = os.readv(fd, [view[done:]])
            if not received:
                raise _ChildDied()
            done += received
    return buffer
