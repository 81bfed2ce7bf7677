"""Filled-in form fields: their values are drawn on the rendered page and are part of the
page's text, with boxes in their fields, through the real page job."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from samples import form_pdf

from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.models import Page
from archivist.core.pages import decode_words
from archivist.core.pdf import render_page
from archivist.core.settings import Settings, use_settings
from archivist.core.text_layer import read_text_layer
from archivist.core.users import User, viewer_for
from archivist.jobs.pipeline import process_page

NAME = ("name", "Jane Doe", (100.0, 700.0, 300.0, 720.0))
CITY = ("city", "Zürich\nSwitzerland", (100.0, 600.0, 300.0, 640.0))
PIN = ("pin", "4321", (100.0, 500.0, 200.0, 520.0))


def test_field_values_are_words_in_their_fields(tmp_path: Path) -> None:
    pdf = form_pdf(tmp_path / "form.pdf", [NAME, CITY, PIN], pin=1 << 13)  # a password field
    words = read_text_layer(pdf, 0).words
    assert [word.text for word in words] == ["Jane", "Doe", "Zürich", "Switzerland"]
    jane, doe, zurich, switzerland = words
    # Page coordinates: top-left origin, so the field at y 700..720 lies at 72..92.
    for word, (left, top, right, bottom) in (
        (jane, (100, 72, 300, 92)),
        (doe, (100, 72, 300, 92)),
        (zurich, (100, 152, 300, 172)),
        (switzerland, (100, 172, 300, 192)),
    ):
        assert left <= word.x0 < word.x1 <= right and top <= word.y0 < word.y1 <= bottom
    assert jane.x1 < doe.x0


def test_field_values_are_drawn(tmp_path: Path) -> None:
    pdf = form_pdf(tmp_path / "form.pdf", [NAME])
    image = render_page(pdf, 0, dpi=72).image.convert("L")
    field = image.crop((100, 72, 300, 92))
    assert min(field.getextrema()) < 100  # the value's glyphs, not a blank field
    assert image.crop((100, 200, 300, 300)).getextrema() == (255, 255)


@pytest.fixture
def tesseract_settings(settings: Settings) -> Settings:
    if shutil.which("tesseract") is None:
        pytest.skip("the tesseract binary is not installed (apt-get install tesseract-ocr)")
    chosen = dataclasses.replace(settings, ocr_engine="tesseract", redis_url=None)
    use_settings(chosen)
    return chosen


def test_a_filled_form_keeps_its_values_as_page_text(
    tesseract_settings: Settings, make_user, tmp_path: Path
) -> None:
    pdf = form_pdf(tmp_path / "form.pdf", [NAME, CITY])
    user = make_user("filler")
    with database.connection_context():
        viewer = viewer_for(User.get_by_id(user.id))
        with pdf.open("rb") as stream:
            upload_document(tesseract_settings, viewer, stream, UploadOptions(pdf.name), None)
        (page_id,) = [page.id for page in Page.select(Page.id)]
    assert process_page(page_id) == "done"
    with database.connection_context():
        page = Page.get_by_id(page_id)
    assert page.source == "text_layer"
    assert page.text.split() == ["Jane", "Doe", "Zürich", "Switzerland"]
    assert [word.text for word in decode_words(page.words)][:2] == ["Jane", "Doe"]
