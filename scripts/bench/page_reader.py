#!/usr/bin/env python3
"""Benchmark reading a page in the worker's render child against reading it in-process.

Run: ``.venv/bin/python scripts/bench/page_reader.py [--pages 20] [--dpi 300]``

It writes an A4 PDF whose pages carry real text (so the text layer is read too), then reads
every page twice: in this process (``render_page`` and ``extract_text_layer``), and through a
:class:`~archivist.core.page_reader.PageReader` (one persistent child, limits on). It prints
the milliseconds per page of each, the difference (the cost of the child: pickling and the
pipe), the child's start-up time, and the time a child takes to refuse a nested-forms bomb.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import tempfile
import time
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c

from archivist.core.page_reader import PageReader, ReadRequest
from archivist.core.pdf import render_page
from archivist.core.text_layer import extract_text_layer


def text_pdf(path: Path, pages: int) -> Path:
    pdf = pypdfium2.PdfDocument.new()
    font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
    for number in range(pages):
        page = pdf.new_page(595, 842)
        for line in range(40):
            obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(11.0))
            text = f"Page {number} line {line}: the quick brown fox jumps over the lazy dog"
            encoded = text.encode("utf-16-le") + b"\x00\x00"
            buffer = ctypes.create_string_buffer(encoded, len(encoded))
            pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
            pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, 800 - line * 19)
            pdfium_c.FPDFPage_InsertObject(page.raw, obj)
        pdfium_c.FPDFPage_GenerateContent(page.raw)
        page.close()
    pdf.save(str(path))
    pdf.close()
    return path


def nested_forms_pdf(path: Path, depth: int = 11, fanout: int = 4) -> Path:
    """A page drawing a form that draws the form below it ``fanout`` times, ``depth`` deep."""
    forms = []
    for level in range(depth):
        if level == 0:
            content, resources = b"0 0 m 10 10 l S", b""
        else:
            content = b" ".join([b"q 1 0 0 1 0.1 0.1 cm /F Do Q"] * fanout)
            resources = b"/Resources << /XObject << /F %d 0 R >> >>" % (4 + level)
        forms.append(
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 600 800] %s /Length %d >>\n"
            b"stream\n%s\nendstream" % (resources, len(content), content)
        )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 4 0 R "
        b"/Resources << /XObject << /F %d 0 R >> >> >>" % (4 + depth),
        b"<< /Length 5 >>\nstream\n/F Do\nendstream",
        *forms,
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--dpi", type=float, default=300.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        pdf = text_pdf(Path(folder) / "text.pdf", args.pages)
        in_process = []
        for index in range(args.pages):
            start = time.perf_counter()
            render_page(pdf, index, args.dpi)
            extract_text_layer(pdf, index)
            in_process.append(time.perf_counter() - start)
        reader = PageReader(memory_mib=768, timeout=120)
        start = time.perf_counter()
        reader.read(ReadRequest(str(pdf), 0, args.dpi))
        first = time.perf_counter() - start
        in_child = []
        for index in range(args.pages):
            start = time.perf_counter()
            reader.read(ReadRequest(str(pdf), index, args.dpi))
            in_child.append(time.perf_counter() - start)
        bomb = nested_forms_pdf(Path(folder) / "bomb.pdf")
        start = time.perf_counter()
        try:
            reader.read(ReadRequest(str(bomb), 0, args.dpi))
            refused = "rendered (not refused!)"
        except Exception as error:  # the figure to print is the reason
            refused = str(error)
        bomb_seconds = time.perf_counter() - start
        reader.close()
    own, child = statistics.median(in_process) * 1000, statistics.median(in_child) * 1000
    print(f"A4 page at {args.dpi:g} dpi, {args.pages} pages, medians:")
    print(f"  in-process render + text layer: {own:7.1f} ms/page")
    print(f"  in the render child:            {child:7.1f} ms/page  (+{child - own:.1f} ms)")
    print(f"  first read (child start-up included): {first * 1000:.0f} ms")
    print(f"  nested-forms bomb (768 MiB limit): {bomb_seconds:.1f} s -> {refused}")


if __name__ == "__main__":
    main()
