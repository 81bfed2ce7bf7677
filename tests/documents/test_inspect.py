"""inspect_document on good files and on every hostile input we know of."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.filetypes import FileType
from archivist.core.pdf import inspect_document

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>"


def assert_refused(path: Path, code: DocumentErrorCode, **limits: int) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        inspect_document(path, **limits)
    assert caught.value.code is code, caught.value
    assert caught.value.message.endswith(".")
    return caught.value


def test_pdf_pages_and_sizes(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a.pdf", [(595, 842), (842, 595), (300, 200)])
    info = inspect_document(pdf)
    assert info.file_type is FileType.PDF
    assert info.page_count == 3
    assert info.page_sizes == [(595, 842), (842, 595), (300, 200)]


def test_rotated_page_size_is_as_displayed(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a.pdf", [(595, 842)], rotation=90)
    assert inspect_document(pdf).page_sizes == [(842, 595)]


def test_handmade_pdf_is_fine(samples: Any, tmp_path: Path) -> None:
    path = tmp_path / "ok.pdf"
    path.write_bytes(
        samples.handmade_pdf([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE])
    )
    assert inspect_document(path).page_sizes == [(200, 100)]


def test_image_sizes_follow_their_resolution(samples: Any, tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    samples.text_image(["hello"], size=(600, 300)).save(path, dpi=(150, 150))
    info = inspect_document(path)
    assert info.file_type is FileType.PNG
    assert info.page_sizes[0] == pytest.approx((288.0, 144.0), abs=0.1)


def test_zero_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert_refused(path, DocumentErrorCode.EMPTY_FILE)


def test_text_named_pdf(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some notes\n" * 10)
    assert_refused(path, DocumentErrorCode.UNSUPPORTED_TYPE)


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated_pdf(samples: Any, tmp_path: Path, keep: float) -> None:
    data = samples.blank_pdf(tmp_path / "full.pdf", [(595, 842)] * 3).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: int(len(data) * keep)])
    error = assert_refused(path, DocumentErrorCode.BROKEN_PDF)
    assert "cut off" in error.message


def test_pdf_header_then_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n")
    assert_refused(path, DocumentErrorCode.BROKEN_PDF)


def test_encrypted_pdf_without_password(samples: Any, tmp_path: Path) -> None:
    # A Standard security handler whose user password is not empty: PDFium asks for it.
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 /O <%s> /U <%s> >>" % (
        b"11" * 32,
        b"22" * 32,
    )
    objects = [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE, encrypt]
    path = tmp_path / "locked.pdf"
    path.write_bytes(
        samples.handmade_pdf(objects, b"/Encrypt 4 0 R /ID [<%s> <%s>] " % ((b"ab" * 16,) * 2))
    )
    error = assert_refused(path, DocumentErrorCode.ENCRYPTED)
    assert "password" in error.message


@pytest.mark.parametrize(
    "pages_object",
    [
        b"<< /Type /Pages /Kids [3 0 R 9 0 R] /Count 2 >>",  # a kid that does not exist
        b"<< /Type /Pages /Kids [3 0 R] /Count 5 >>",  # a count the kids do not hold
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",  # a tree that contains itself
    ],
)
def test_broken_page_tree(samples: Any, tmp_path: Path, pages_object: bytes) -> None:
    path = tmp_path / "tree.pdf"
    path.write_bytes(samples.handmade_pdf([CATALOG, pages_object, PAGE]))
    assert_refused(path, DocumentErrorCode.BROKEN_PDF)


def test_too_many_pages(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a.pdf", [(100, 100)] * 3)
    assert_refused(pdf, DocumentErrorCode.TOO_MANY_PAGES, max_pages=2)


def test_decompression_bomb_is_refused_from_its_header(samples: Any, tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(
        samples.png_header_only(100_000, 100_000)
    )  # 10 gigapixels declared, ~100 bytes
    error = assert_refused(path, DocumentErrorCode.IMAGE_TOO_LARGE)
    assert "too large" in error.message


def test_image_over_our_own_pixel_limit(samples: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(samples.png_header_only(20_000, 6_000))  # 120 Mpx: under Pillow's hard limit
    assert_refused(path, DocumentErrorCode.IMAGE_TOO_LARGE, max_image_pixels=100_000_000)


def test_tiff_frame_over_the_limit_is_refused(samples: Any, tmp_path: Path) -> None:
    path = tmp_path / "frames.tif"
    small = samples.text_image(["one"], size=(300, 100))
    big = Image.new("L", (3000, 1000), 255)
    small.save(path, save_all=True, append_images=[big])
    assert_refused(path, DocumentErrorCode.IMAGE_TOO_LARGE, max_image_pixels=1_000_000)


def test_multipage_tiff_with_a_corrupt_frame(samples: Any, tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    frames = [samples.text_image([f"page {n}"], size=(400, 120)) for n in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_adobe_deflate")
    with Image.open(path) as image:
        image.seek(1)
        offset, length = image.tag_v2[273][0], image.tag_v2[279][0]
    data = bytearray(path.read_bytes())
    data[offset : offset + length] = b"\xff" * length  # not a deflate stream any more
    path.write_bytes(bytes(data))
    error = assert_refused(path, DocumentErrorCode.CORRUPT_IMAGE)
    assert "page 2" in error.message


def test_truncated_jpeg(samples: Any, tmp_path: Path) -> None:
    full = tmp_path / "full.jpg"
    samples.text_image(["some words"]).save(full, quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(full.read_bytes()[:400])
    assert_refused(path, DocumentErrorCode.CORRUPT_IMAGE)


def test_png_with_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert_refused(path, DocumentErrorCode.CORRUPT_IMAGE)


def test_thousands_of_pages_open_cheaply(samples: Any, tmp_path: Path) -> None:
    path = samples.blank_pdf(tmp_path / "long.pdf", [(595, 842)] * 5000)
    # Peak memory of a fresh process: only imports, then imports and inspect_document.
    program = textwrap.dedent(
        f"""
        import resource, sys
        from archivist.core.pdf import inspect_document
        if sys.argv[1] == "inspect":
            assert inspect_document({str(path)!r}).page_count == 5000
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )

    def peak_kib(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", program, mode], capture_output=True, text=True, check=True
        )
        return int(run.stdout)

    extra_mib = (peak_kib("inspect") - peak_kib("import")) / 1024
    print(f"inspecting 5000 pages took {extra_mib:.1f} MiB beyond the imports")
    assert extra_mib < 40


def _fax_bomb(path: Path, frames: int = 8, side: int = 10_000) -> Path:
    """A multi-page bilevel TIFF of blank ``side`` x ``side`` px frames: tiny file, huge pixels."""
    frame = Image.new("1", (side, side), 1)
    frame.save(path, save_all=True, append_images=[frame] * (frames - 1), compression="group4")
    return path


def test_fax_bomb_is_refused_from_its_headers_in_little_memory(tmp_path: Path) -> None:
    path = _fax_bomb(tmp_path / "fax.tif")
    assert path.stat().st_size < 64 * 1024  # 800 Mpx in about 51 KiB
    error = assert_refused(path, DocumentErrorCode.IMAGE_TOO_LARGE)
    assert "megapixels together" in error.message
    # Peak memory of a fresh process: only imports, then imports and the upload's two steps
    # (inspect, convert), both refusing the file before decoding a single frame.
    program = textwrap.dedent(
        f"""
        import resource, sys
        from archivist.core.document_errors import DocumentError
        from archivist.core.images import image_to_pdf
        from archivist.core.pdf import inspect_document
        if sys.argv[1] == "upload":
            for step in (lambda: inspect_document({str(path)!r}),
                         lambda: image_to_pdf({str(path)!r}, {str(tmp_path / "out.pdf")!r})):
                try:
                    step()
                except DocumentError as error:
                    assert error.code == "IMAGE_TOO_LARGE", error
                else:
                    raise AssertionError("accepted")
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )

    def peak_kib(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", program, mode], capture_output=True, text=True, check=True
        )
        return int(run.stdout)

    extra_mib = (peak_kib("upload") - peak_kib("import")) / 1024
    print(f"refusing the fax bomb took {extra_mib:.1f} MiB beyond the imports")
    assert extra_mib < 30


def test_total_pixels_and_frames_have_their_own_limits(tmp_path: Path) -> None:
    path = _fax_bomb(tmp_path / "small.tif", frames=3, side=1000)  # 3 Mpx in all
    assert inspect_document(path).page_count == 3
    assert_refused(path, DocumentErrorCode.IMAGE_TOO_LARGE, max_total_pixels=2_500_000)
    error = assert_refused(path, DocumentErrorCode.TOO_MANY_PAGES, max_pages=2)
    assert "more than 2 pages" in error.message


def test_pdf_page_larger_than_the_format_allows_is_refused(samples: Any, tmp_path: Path) -> None:
    path = tmp_path / "wide.pdf"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 20000 100] >>"
    path.write_bytes(
        samples.handmade_pdf([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page])
    )
    error = assert_refused(path, DocumentErrorCode.PAGE_TOO_LARGE)
    assert "Page 1" in error.message
