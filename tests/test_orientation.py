"""Turned pages: a scan turned 90, 180 or 270 degrees is read upright (Tesseract's OSD), and
the version with the text layer stores it upright, through the real page and final jobs."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageStat
from samples import image_pdf
from support import gid

from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.models import DocumentVersion, Page
from archivist.core.ocr_languages import tesseract_data
from archivist.core.page_edits import rotate
from archivist.core.pages import decode_words
from archivist.core.pdf import render_page
from archivist.core.processing import current_version
from archivist.core.reprocess import reprocess_document
from archivist.core.search import search_index
from archivist.core.settings import Settings, use_settings
from archivist.core.storage import Storage
from archivist.core.text_layer import extract_text_layer
from archivist.core.users import User, viewer_for
from archivist.jobs.indexing import index_document
from archivist.jobs.orientation import upright_turn
from archivist.jobs.pipeline import finalize_version, process_page

LINES = [
    "INVOICE NUMBER 4711",
    "Total amount due 120 euros",
    "Payment by bank transfer",
    "Thank you for your order",
    "Customer number 0815",
]


def letter() -> Image.Image:
    image = Image.new("L", (1200, 700), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for number, line in enumerate(LINES):
        draw.text((60, 60 + number * 80), line, fill=0, font=font)
    return image


@pytest.fixture
def tesseract_settings(settings: Settings) -> Settings:
    if shutil.which("tesseract") is None or "osd" not in tesseract_data():
        pytest.skip("needs tesseract with its OSD data (apt-get install tesseract-ocr-osd)")
    chosen = dataclasses.replace(settings, ocr_engine="tesseract", redis_url=None)
    use_settings(chosen)
    return chosen


@pytest.mark.parametrize("turned", [0, 90, 180, 270])
def test_osd_tells_the_turn_back(tesseract_settings: Settings, turned: int) -> None:
    # PIL turns counter-clockwise: a page turned so needs as much clockwise to be upright.
    assert upright_turn(letter().rotate(turned, expand=True)) == turned


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_a_turned_scan_is_read_upright(
    tesseract_settings: Settings, make_user, tmp_path: Path, turned: int
) -> None:
    pdf = image_pdf(tmp_path / "turned.pdf", letter().rotate(turned, expand=True), 150.0)
    user = make_user("scanner")
    with database.connection_context():
        viewer = viewer_for(User.get_by_id(user.id))
        with pdf.open("rb") as stream:
            upload_document(tesseract_settings, viewer, stream, UploadOptions(pdf.name), None)
        (page_id,) = [page.id for page in Page.select(Page.id)]
    assert process_page(page_id) == "done"
    with database.connection_context():
        page = Page.get_by_id(page_id)
    # Words in reading order, boxes on the page as uploaded (the final step turns it).
    assert " ".join(page.text.split()) == " ".join(LINES)
    words = {word.text: word for word in decode_words(page.words)}
    invoice = words["INVOICE"]
    assert (
        0 <= invoice.x0 < invoice.x1 <= page.width and 0 <= invoice.y0 < invoice.y1 <= page.height
    )
    # The first line of the letter lies along the page's edge it was turned to.
    centre = (
        (invoice.x0 + invoice.x1) / 2 / page.width,
        (invoice.y0 + invoice.y1) / 2 / page.height,
    )
    if turned == 90:  # counter-clockwise: the top edge went left, text runs upwards
        assert centre[0] < 0.3 and invoice.y1 - invoice.y0 > invoice.x1 - invoice.x0
    elif turned == 180:
        assert centre[1] > 0.7
    else:
        assert centre[0] > 0.7 and invoice.y1 - invoice.y0 > invoice.x1 - invoice.x0


def _process(version_id: int) -> None:
    """Run the version's pending pages and its final step, as workers would."""
    with database.connection_context():
        pending = Page.select(Page.id).where(
            (Page.version == version_id) & (Page.status == Page.PENDING)
        )
        page_ids = [page.id for page in pending]
    assert [process_page(page_id) for page_id in page_ids] == ["done"] * len(page_ids)
    assert finalize_version(version_id) == "ready"


def _newest(document_id: int) -> tuple[DocumentVersion, Page]:
    with database.connection_context():
        version = current_version(document_id)
        assert version is not None
        return version, Page.get((Page.version == version.id) & (Page.number == 1))


# Where the letter's first word lies on the upright page: 60 px from the top-left corner at
# 150 dpi is 28.8 points (plus the font's space above its capitals).
INVOICE_AT = (60 * 72 / 150, 60 * 72 / 150)


def _check_upright(storage: Storage, version: DocumentVersion, page: Page, turned: int) -> None:
    """The version's page shows the letter upright: in its PDF, its previews and its words."""
    assert page.turn == 0 and page.status == Page.DONE
    assert page.width > page.height  # the letter is landscape
    with pypdfium2.PdfDocument(storage.path(version.file_hash)) as pdf:
        assert pdf[0].get_rotation() == turned  # /Rotate, as rotatePages sets it
    rendered = render_page(storage.path(version.file_hash), 0, 150.0).image
    assert upright_turn(rendered) == 0 and rendered.width > rendered.height
    with Image.open(storage.preview_path(version.file_hash, 1, "large")) as preview:
        preview.load()
    assert upright_turn(preview) == 0 and preview.width > preview.height
    words = {word.text: word for word in decode_words(page.words)}
    invoice = words["INVOICE"]
    assert abs(invoice.x0 - INVOICE_AT[0]) < 4 and abs(invoice.y0 - INVOICE_AT[1]) < 8
    assert invoice.x1 - invoice.x0 > 3 * (invoice.y1 - invoice.y0)  # a word lying flat
    # The box lands on ink in the upright preview; the margin before it is blank.
    scale = preview.width / page.width
    box = [round(v * scale) for v in (invoice.x0, invoice.y0, invoice.x1, invoice.y1)]
    grey = preview.convert("L")
    assert ImageStat.Stat(grey.crop(box)).mean[0] < 220
    assert ImageStat.Stat(grey.crop((0, box[1], max(box[0] - 4, 1), box[3]))).mean[0] > 250
    # The file's own text layer agrees with the stored boxes (what a PDF viewer searches).
    layer = next(
        w for w in extract_text_layer(storage.path(version.file_hash), 0) if w.text == "INVOICE"
    )
    assert abs(layer.x0 - invoice.x0) < 2 and abs(layer.y0 - invoice.y0) < 2


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_a_turned_scan_is_stored_upright(
    tesseract_settings: Settings, make_user, tmp_path: Path, turned: int
) -> None:
    pdf = image_pdf(tmp_path / "turned.pdf", letter().rotate(turned, expand=True), 150.0)
    storage = Storage(tesseract_settings.storage_dir)
    user = make_user("scanner")
    with database.connection_context():
        viewer = viewer_for(User.get_by_id(user.id))
        with pdf.open("rb") as stream:
            node = upload_document(
                tesseract_settings, viewer, stream, UploadOptions(pdf.name), None
            )
        uploaded = current_version(node.id)
        assert uploaded is not None
    _process(uploaded.id)

    version, page = _newest(node.id)
    assert version.number == 2 and version.note == "Text layer added; page(s) 1 turned upright"
    _check_upright(storage, version, page, turned)
    assert " ".join(page.text.split()) == " ".join(LINES)
    # The upload is kept as it came (version 1, the page still turned); the layer-free base of
    # the new version is turned like it, with no text of ours.
    with pypdfium2.PdfDocument(storage.path(uploaded.file_hash)) as original:
        assert original[0].get_rotation() == 0
    with pypdfium2.PdfDocument(storage.path(version.base_hash)) as base:
        assert base[0].get_rotation() == turned
    assert extract_text_layer(storage.path(version.base_hash), 0) == []

    # Search finds the words on the upright version's page.
    assert index_document(node.id) == 1
    with search_index(tesseract_settings) as index:
        hits = index.search("invoice AND bank", principals=viewer.principals).hits
    assert [(hit.version_id, hit.page_number) for hit in hits] == [(version.id, 1)]

    # Processing again starts from the upright base: nothing more to turn, still upright.
    with database.connection_context():
        reprocess_document(tesseract_settings, viewer, None, gid("Document", node.id))
        again_version = current_version(node.id)
        assert again_version is not None
    _process(again_version.id)
    with database.connection_context():
        assert Page.get(Page.version == again_version.id).turn == 0
    newest, again = _newest(node.id)
    assert newest.number == 4 and newest.note == "Text layer added"
    _check_upright(storage, newest, again, turned)
    assert (again.width, again.height) == (page.width, page.height)

    # A page edit turns the upright page further, the same way (its /Rotate, words, size).
    with database.connection_context():
        rotate(tesseract_settings, viewer, gid("Document", node.id), {1: 90})
    edited, turned_page = _newest(node.id)
    with pypdfium2.PdfDocument(storage.path(edited.file_hash)) as quarter:
        assert quarter[0].get_rotation() == (turned + 90) % 360
    assert (turned_page.width, turned_page.height) == (page.height, page.width)
    words = {word.text: word for word in decode_words(turned_page.words)}
    layer = next(
        w for w in extract_text_layer(storage.path(edited.file_hash), 0) if w.text == "INVOICE"
    )
    assert abs(layer.x0 - words["INVOICE"].x0) < 2 and abs(layer.y0 - words["INVOICE"].y0) < 2
