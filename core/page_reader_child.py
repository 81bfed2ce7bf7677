"""The child side of :mod:`archivist.core.page_reader`: ``python -m`` this module.

It limits its own address space (``RLIMIT_AS``) to what it holds after its imports plus the
MiB given as its argument, then answers read requests (see
:class:`~archivist.core.page_reader.ReadRequest`) from stdin on stdout until stdin closes (its
worker stopped or died). After running out of memory it answers once and exits: PDFium's
state after a failed allocation is not trusted.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
from typing import IO

from archivist.core.document_errors import DocumentError
from archivist.core.page_reader import ReadReply, ReadRequest, widen_pipe, write_frame
from archivist.core.pdf import render_page
from archivist.core.text_layer import read_text_layer


def _address_space_bytes() -> int | None:
    """This process's virtual memory size (Linux); None where /proc is not there."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def limit_memory(extra_mib: int) -> None:
    """Cap the address space at what is mapped now plus ``extra_mib`` MiB."""
    mapped = _address_space_bytes()
    if mapped is None:
        return  # no /proc: no reliable base to add to; the time limit still holds
    limit = mapped + extra_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _read_frame(stream: IO[bytes]) -> object | None:
    header = stream.read(16)
    if len(header) < 16:
        return None
    data = stream.read(int.from_bytes(header[:8], "big"))
    stream.read(int.from_bytes(header[8:], "big"))  # requests carry no raw part
    return pickle.loads(data)


def answer(request: ReadRequest) -> tuple[ReadReply, bytes]:
    """Render the page and read its text layer: the reply and the page's raw pixels.

    Failures become a reply, not an exception.
    """
    try:
        rendered = render_page(
            request.pdf_path, request.page_index, request.dpi, max_pixels=request.max_pixels
        )
        layer = read_text_layer(request.pdf_path, request.page_index)
        image = rendered.image
        pixels = image.tobytes()
        return ReadReply(image.mode, image.size, rendered.scale, layer), pixels
    except MemoryError:
        return ReadReply(memory_error=True), b""
    except DocumentError as error:
        return ReadReply(error_code=error.code.value, error_message=error.message), b""
    except Exception as error:  # the parent decides; the child stays up
        return ReadReply(failure=f"{type(error).__name__}: {error}"), b""


def main(argv: list[str]) -> int:
    limit_memory(int(argv[1]))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    widen_pipe(stdout.fileno())
    while True:
        request = _read_frame(stdin)
        if not isinstance(request, ReadRequest):
            return 0
        reply, pixels = answer(request)
        write_frame(stdout, reply, pixels)
        if reply.memory_error:
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
