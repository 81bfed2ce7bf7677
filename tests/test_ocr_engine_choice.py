"""Where the OCR engine is chosen: the document names it (the API's setting at upload, or
retryPage/reprocessDocument), every worker reads the page with that engine whatever its own
setting, and a worker without that engine refuses the page with the reason, before loading
any model."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from samples import image_pdf, scanned_image

from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.models import Page
from archivist.core.settings import Settings, use_settings
from archivist.core.users import User, viewer_for
from archivist.jobs.pipeline import process_page


def upload_scan(settings: Settings, make_user, tmp_path: Path) -> int:
    pdf = image_pdf(tmp_path / "scan.pdf", scanned_image(["INVOICE", "NUMBER", "4711"]))
    user = make_user("scanner")
    with database.connection_context():
        viewer = viewer_for(User.get_by_id(user.id))
        with pdf.open("rb") as stream:
            upload_document(settings, viewer, stream, UploadOptions(pdf.name), None)
        (page_id,) = [page.id for page in Page.select(Page.id)]
    return int(page_id)


def stored_page(page_id: int) -> Page:
    with database.connection_context():
        page: Page = Page.get_by_id(page_id)
        return page


def test_the_documents_engine_is_used_whatever_the_workers_setting(
    settings: Settings, make_user, tmp_path: Path
) -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("the tesseract binary is not installed (apt-get install tesseract-ocr)")
    api = dataclasses.replace(settings, ocr_engine="tesseract", redis_url=None)
    page_id = upload_scan(api, make_user, tmp_path)
    use_settings(dataclasses.replace(api, ocr_engine="easyocr"))  # the worker's own setting
    assert process_page(page_id) == "done"
    page = stored_page(page_id)
    assert (page.status, page.source, page.engine) == ("done", "ocr", "tesseract")
    assert "4711" in page.text


def test_a_worker_without_the_engine_fails_the_page_with_the_reason(
    settings: Settings, make_user, tmp_path: Path
) -> None:
    api = dataclasses.replace(settings, ocr_engine="easyocr", redis_url=None)
    page_id = upload_scan(api, make_user, tmp_path)
    empty = tmp_path / "no-models"
    empty.mkdir()
    use_settings(dataclasses.replace(api, easyocr_model_dir=empty))  # EasyOCR not installed here
    assert process_page(page_id) == "failed"
    page = stored_page(page_id)
    assert page.status == "failed"
    assert "EasyOCR (en)" in page.error and "does not have" in page.error
    assert "Retry the page" in page.error
