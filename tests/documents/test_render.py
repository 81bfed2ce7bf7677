from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.pdf import MAX_RENDER_PIXELS, render_page, render_scale


def test_a4_renders_at_the_dpi_asked_for(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a4.pdf", [(595, 842)])
    page = render_page(pdf, 0, dpi=150)
    assert page.image.size == (1240, 1755)  # 1754.2 px, rounded up
    assert page.image.mode == "RGB"
    assert page.scale == pytest.approx(150 / 72)
    assert page.image.info["dpi"] == pytest.approx((150, 150))


def test_huge_page_renders_within_the_pixel_budget(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "poster.pdf", [(8400, 8400)])  # 35000 px square at 300 dpi
    page = render_page(pdf, 0, dpi=300)
    width, height = page.image.size
    assert width * height <= MAX_RENDER_PIXELS
    assert width * height > 0.98 * MAX_RENDER_PIXELS
    assert page.dpi < 300
    # The scale maps the image back onto the whole page.
    assert width / page.scale == pytest.approx(8400, rel=0.001)


def test_pixel_budget_can_be_lowered(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a4.pdf", [(595, 842)])
    page = render_page(pdf, 0, dpi=300, max_pixels=1_000_000, grayscale=True)
    assert page.image.mode == "L"
    assert page.image.width * page.image.height <= 1_000_000
    assert render_scale(595, 842, 300, 1_000_000) == pytest.approx(page.scale, rel=0.01)


def test_rotated_page_renders_upright(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a.pdf", [(200, 100)], rotation=90)
    assert render_page(pdf, 0, dpi=72).image.size == (100, 200)


def test_page_out_of_range(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a.pdf", [(200, 100)])
    with pytest.raises(DocumentError) as caught:
        render_page(pdf, 1, dpi=72)
    assert caught.value.code is DocumentErrorCode.PAGE_OUT_OF_RANGE


def test_dpi_must_be_positive(samples: Any, tmp_path: Path) -> None:
    pdf = samples.blank_pdf(tmp_path / "a.pdf", [(200, 100)])
    with pytest.raises(ValueError, match="dpi"):
        render_page(pdf, 0, dpi=0)
