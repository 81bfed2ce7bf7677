"""OCR languages: what each engine can read here, and languages refused at upload, not at
the page. The installed models are real: EasyOCR's English weights (the offline package) and
Debian's Tesseract with English only; a folder of weights shows how EasyOCR's list follows it.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from samples import mixed_pdf, text_pdf
from starlette.testclient import TestClient
from support import graphql, login, row_id, upload

from archivist.core.db import database
from archivist.core.models import Document, Node
from archivist.core.ocr_languages import (
    EASYOCR_DETECTOR,
    EASYOCR_WEIGHTS,
    easyocr_languages,
    easyocr_model_dir,
    easyocr_weights_for,
    tesseract_languages,
)
from archivist.core.settings import Settings

QUERY = "{ ocrLanguages { engine languages } }"


@pytest.fixture
def token(client: TestClient, make_user) -> str:
    make_user("alice")
    return login(client, "alice")


def needs_tesseract() -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("the tesseract binary is not installed (apt-get install tesseract-ocr)")


def test_ocr_languages_lists_each_installed_engine(client: TestClient, token: str) -> None:
    needs_tesseract()
    body = graphql(client, QUERY, token=token)
    assert "errors" not in body, body
    engines = {row["engine"]: row["languages"] for row in body["data"]["ocrLanguages"]}
    assert list(engines) == ["EASYOCR", "TESSERACT"]
    assert engines["EASYOCR"] == ["en"]  # the offline package holds English weights only
    assert "en" in engines["TESSERACT"] and "osd" not in engines["TESSERACT"]
    assert set(engines["TESSERACT"]) == set(tesseract_languages())


def test_ocr_languages_needs_a_sign_in(client: TestClient) -> None:
    body = graphql(client, QUERY)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_easyocr_reads_what_its_model_folder_holds(settings: Settings, tmp_path: Path) -> None:
    package = easyocr_model_dir(settings)
    assert package is not None
    folder = tmp_path / "models"
    folder.mkdir()
    chosen = dataclasses.replace(settings, easyocr_model_dir=folder)
    (folder / "latin_g2.pth").symlink_to(package / "english_g2.pth")  # the name is what counts
    assert easyocr_languages(chosen) == ()  # no detector: nothing can be read
    (folder / EASYOCR_DETECTOR).symlink_to(package / EASYOCR_DETECTOR)
    latin = easyocr_languages(chosen)
    assert {"de", "fr", "en", "pl"} <= set(latin) and "ja" not in latin
    assert easyocr_weights_for(["en"]) == "english_g2.pth"
    assert easyocr_weights_for(["de", "en"]) == "latin_g2.pth"
    assert easyocr_weights_for(["ja", "en"]) == "japanese_g2.pth"
    assert easyocr_weights_for(["ja", "ko"]) is None  # EasyOCR cannot mix those scripts


def test_weights_table_matches_easyocr() -> None:
    from easyocr import config

    models = {**config.recognition_models["gen1"], **config.recognition_models["gen2"]}
    files = {model["filename"] for model in models.values()}
    assert {filename for filename, _ in EASYOCR_WEIGHTS} <= files
    assert set(config.latin_lang_list) == set(dict(EASYOCR_WEIGHTS)["latin_g2.pth"])
    assert config.detection_models["craft"]["filename"] == EASYOCR_DETECTOR


def test_upload_with_a_language_no_model_reads_is_refused(
    client: TestClient, token: str, tmp_path: Path
) -> None:
    content = mixed_pdf(tmp_path / "m.pdf").read_bytes()
    body = upload(client, token, "m.pdf", content, {"languages": ["de"]})
    payload = body["data"]["uploadDocument"]
    assert payload["document"] is None
    (error,) = payload["errors"]
    assert (error["code"], error["field"]) == ("UNSUPPORTED_LANGUAGE", "languages")
    assert "EasyOCR cannot read de" in error["message"]
    assert "EasyOCR: en" in error["message"]  # says what can be read instead
    with database.connection_context():
        assert (
            Document.select().count() == 0
            and Node.select().where(Node.kind == "document").count() == 0
        )
    # Never OCR'd, it needs no language model.
    off = upload(client, token, "m.pdf", content, {"languages": ["de"], "mode": "OFF"})
    assert off["data"]["uploadDocument"]["errors"] == []


REPROCESS = """mutation($id: ID!, $languages: [String!], $engine: OcrEngine) {
  reprocessDocument(documentId: $id, languages: $languages, engine: $engine) {
    errors { code message field } } }"""
RETRY = """mutation($id: ID!, $languages: [String!], $engine: OcrEngine) {
  retryPage(pageId: $id, languages: $languages, engine: $engine) {
    errors { code message field } } }"""


def test_reprocess_and_retry_refuse_languages_the_engine_lacks(
    client: TestClient, token: str, tmp_path: Path
) -> None:
    needs_tesseract()
    content = text_pdf(tmp_path / "t.pdf", [["Quarterly", "report"]]).read_bytes()
    body = upload(client, token, "t.pdf", content)
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    with database.connection_context():
        Document.update(status="ready").where(Document.node == row_id(document_id)).execute()
    pages = graphql(
        client,
        "query($id: ID!) { document(id: $id) { pages { edges { node { id } } } } }",
        {"id": document_id},
        token=token,
    )
    page_id = pages["data"]["document"]["pages"]["edges"][0]["node"]["id"]
    refused = graphql(client, REPROCESS, {"id": document_id, "languages": ["ja"]}, token=token)
    assert refused["data"]["reprocessDocument"]["errors"][0]["code"] == "UNSUPPORTED_LANGUAGE"
    # Hebrew with Tesseract: Debian's tesseract-ocr-heb is not installed here.
    assert "heb" not in tesseract_languages() and "he" not in tesseract_languages()
    refused = graphql(
        client, RETRY, {"id": page_id, "languages": ["he"], "engine": "TESSERACT"}, token=token
    )
    (error,) = refused["data"]["retryPage"]["errors"]
    assert (
        error["code"] == "UNSUPPORTED_LANGUAGE" and "Tesseract cannot read he" in error["message"]
    )
    with database.connection_context():
        row = Document.get(Document.node == row_id(document_id))
        assert (row.ocr_languages, row.ocr_engine) == ("en", "easyocr")  # nothing changed
    # What both engines have is taken.
    taken = graphql(client, RETRY, {"id": page_id, "engine": "TESSERACT"}, token=token)
    assert taken["data"]["retryPage"]["errors"] == []
