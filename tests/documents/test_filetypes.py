from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archivist.core.document_errors import DocumentErrorCode, UnsupportedFileType
from archivist.core.filetypes import FileType, detect_file_type, detect_file_type_of_bytes


@pytest.mark.parametrize(
    ("image_format", "expected"),
    [("PNG", FileType.PNG), ("JPEG", FileType.JPEG), ("TIFF", FileType.TIFF)],
)
def test_images_are_detected_by_content_whatever_their_name(
    samples: Any, tmp_path: Path, image_format: str, expected: FileType
) -> None:
    path = tmp_path / "misnamed.pdf"
    samples.text_image(["hello"]).save(path, image_format)
    assert detect_file_type(path) is expected


def test_pdf_is_detected_even_with_junk_before_its_header(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a.bin", [(100, 100)])
    assert detect_file_type(pdf) is FileType.PDF
    assert detect_file_type_of_bytes(b"\xef\xbb\xbf junk\n" + pdf.read_bytes()) is FileType.PDF


def test_a_text_file_named_pdf_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_text("Dear customer, this is not a PDF.\n")
    with pytest.raises(UnsupportedFileType) as caught:
        detect_file_type(path)
    assert caught.value.code is DocumentErrorCode.UNSUPPORTED_TYPE
    assert "PDF, TIFF, JPEG or PNG" in caught.value.message


def test_an_empty_file_is_refused_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedFileType) as caught:
        detect_file_type(path)
    assert caught.value.code is DocumentErrorCode.EMPTY_FILE
    assert caught.value.field == "file"


def test_gif_is_not_accepted() -> None:
    with pytest.raises(UnsupportedFileType):
        detect_file_type_of_bytes(b"GIF89a\x01\x00\x01\x00")
