"""Page edits: each makes a version, carries text and boxes over, and runs no OCR."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image
from rq import Queue
from samples import text_pdf
from starlette.testclient import TestClient
from support import graphql, login, run_worker_burst, upload

from archivist.core.db import database
from archivist.core.models import Page
from archivist.core.page_ops import rotate_words
from archivist.core.text_layer import extract_text_layer

pytestmark = pytest.mark.slow

PAGES = [
    ["Alpha", "page", "one", "of", "the", "quarterly", "garden", "report", "today"],
    ["Beta", "page", "two", "of", "the", "quarterly", "garden", "report", "today"],
    ["Gamma", "page", "three", "of", "the", "quarterly", "garden", "report", "today"],
]
DOC = """query($id: ID!) { document(id: $id) { title status pageCount
  versions { number note downloadUrl }
  pages { edges { node { number width height text status words { text x0 y0 x1 y1 } } } } } }"""


def run(client: TestClient, token: str, query: str, **variables):
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def docs(client: TestClient, make_user, redis_client, settings, tmp_path: Path):
    make_user("alice")
    token = login(client, "alice")
    ids = []
    for name, pages in (
        ("report", PAGES),
        ("memo", [["Memo", "about", "the", "garden", "shed", "roof", "repair", "costs", "soon"]]),
    ):
        body = upload(
            client, token, f"{name}.pdf", text_pdf(tmp_path / f"{name}.pdf", pages).read_bytes()
        )
        ids.append(body["data"]["uploadDocument"]["document"]["id"])
    run_worker_burst(settings)
    return token, ids


def texts(document) -> list[str]:
    return [e["node"]["text"].split()[0] for e in document["pages"]["edges"]]


def test_rotate_turns_the_word_boxes(client: TestClient, docs, settings) -> None:
    token, (report, _) = docs
    before = run(client, token, DOC, id=report)["document"]["pages"]["edges"][0]["node"]
    result = run(
        client,
        token,
        "mutation($id: ID!) { rotatePages(documentId: $id, pages: [{page: 1, degrees: 90}]) { errors { code } } }",
        id=report,
    )
    assert result["rotatePages"]["errors"] == []
    after = run(client, token, DOC, id=report)["document"]
    page = after["pages"]["edges"][0]["node"]
    assert (page["width"], page["height"]) == (before["height"], before["width"])
    # The previews came along, turned with the page (and the untouched page's are linked).
    previews = run(
        client,
        token,
        "query($id: ID!) { document(id: $id) { pages { edges { node { previewUrl(size: MEDIUM) } } } } }",
        id=report,
    )
    urls = [e["node"]["previewUrl"] for e in previews["document"]["pages"]["edges"]]
    sizes = [Image.open(io.BytesIO(client.get(url).content)).size for url in urls[:2]]
    assert sizes[1][0] > sizes[1][1]  # page 2, untouched: landscape as generated
    assert sizes[0] == sizes[1][::-1]  # page 1, turned a quarter: portrait
    assert page["text"] == before["text"] and page["status"] == "DONE"
    expected = rotate_words(_words(before), before["width"], before["height"], 90)
    got = _words(page)
    assert [w.text for w in got] == [w.text for w in expected]
    for a, b in zip(got, expected, strict=True):
        assert abs(a.x0 - b.x0) < 0.05 and abs(a.y1 - b.y1) < 0.05
    # PDFium agrees: the rotated file's own text sits where the turned boxes say.
    pdf_path = tmp_pdf(client, after["versions"][-1]["downloadUrl"], settings)
    layer = extract_text_layer(pdf_path, 0)
    first = next(w for w in layer if w.text == "Alpha")
    ours = next(w for w in got if w.text == "Alpha")
    assert abs(first.x0 - ours.x0) < 2 and abs(first.y0 - ours.y0) < 2
    assert [v["note"] for v in after["versions"]][-1] == "Rotated page(s) 1"


def _words(page):
    from archivist.core.words import Word

    return [Word(w["text"], w["x0"], w["y0"], w["x1"], w["y1"]) for w in page["words"]]


def tmp_pdf(client: TestClient, url: str, settings) -> Path:
    path = settings.data_dir / "download.pdf"
    path.write_bytes(client.get(url).content)
    return path


def test_reorder_delete_and_refusals(client: TestClient, docs) -> None:
    token, (report, _) = docs
    run(
        client,
        token,
        "mutation($id: ID!) { reorderPages(documentId: $id, order: [3, 1, 2]) { errors { code } } }",
        id=report,
    )
    assert texts(run(client, token, DOC, id=report)["document"]) == ["Gamma", "Alpha", "Beta"]
    run(
        client,
        token,
        "mutation($id: ID!) { deletePages(documentId: $id, pages: [2]) { errors { code } } }",
        id=report,
    )
    document = run(client, token, DOC, id=report)["document"]
    assert texts(document) == ["Gamma", "Beta"] and document["pageCount"] == 2
    every = run(
        client,
        token,
        "mutation($id: ID!) { deletePages(documentId: $id, pages: [1, 2]) { errors { code message } } }",
        id=report,
    )
    assert every["deletePages"]["errors"][0]["code"] == "CANNOT_DELETE_ALL_PAGES"
    outside = run(
        client,
        token,
        "mutation($id: ID!) { deletePages(documentId: $id, pages: [5]) { errors { code message } } }",
        id=report,
    )
    assert outside["deletePages"]["errors"] == [
        {"code": "PAGE_OUT_OF_RANGE", "message": "This document has 2 pages; there is no page 5."}
    ]
    bad = run(
        client,
        token,
        "mutation($id: ID!) { rotatePages(documentId: $id, pages: [{page: 1, degrees: 45}]) { errors { code } } }",
        id=report,
    )
    assert bad["rotatePages"]["errors"] == [{"code": "INVALID_ROTATION"}]
    # Every earlier version stays downloadable.
    for version in document["versions"]:
        response = client.get(version["downloadUrl"])
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
    counts = [
        len(pypdfium2.PdfDocument(client.get(v["downloadUrl"]).content))
        for v in document["versions"]
    ]
    assert counts == [3, 3, 3, 2]


def test_move_pages_between_documents_runs_no_ocr(
    client: TestClient, docs, redis_client, settings
) -> None:
    token, (report, memo) = docs
    moved = run(
        client,
        token,
        "mutation($s: ID!, $t: ID!) { movePages(sourceId: $s, pages: [2], targetId: $t) { errors { code } } }",
        s=report,
        t=memo,
    )
    assert moved["movePages"]["errors"] == []
    assert Queue("pages", connection=redis_client).count == 0  # nothing waits for OCR
    with database.connection_context():
        assert Page.select().where(Page.status != Page.DONE).count() == 0
    assert texts(run(client, token, DOC, id=memo)["document"]) == ["Memo", "Beta"]
    assert texts(run(client, token, DOC, id=report)["document"]) == ["Alpha", "Gamma"]
    run_worker_burst(settings)  # the index jobs
    hits = run(
        client,
        token,
        'query { search(query: "beta") { edges { node { document { title } pageNumber } } } }',
    )
    assert [
        (e["node"]["document"]["title"], e["node"]["pageNumber"]) for e in hits["search"]["edges"]
    ] == [("memo", 2)]


def test_extract_and_merge(client: TestClient, docs, settings) -> None:
    token, (report, memo) = docs
    extracted = run(
        client,
        token,
        "mutation($id: ID!) { extractPages(documentId: $id, pages: [1, 3], onePerPage: true) { documents { id title } errors { code } } }",
        id=report,
    )
    titles = [d["title"] for d in extracted["extractPages"]["documents"]]
    assert titles == ["report (page 1)", "report (page 3)"]
    assert texts(run(client, token, DOC, id=report)["document"]) == ["Alpha", "Beta", "Gamma"]
    merged = run(
        client,
        token,
        'mutation($a: ID!, $b: ID!) { mergeDocuments(ids: [$a, $b], title: "everything") { document { id } errors { code } } }',
        a=report,
        b=memo,
    )
    merged_id = merged["mergeDocuments"]["document"]["id"]
    assert texts(run(client, token, DOC, id=merged_id)["document"]) == [
        "Alpha",
        "Beta",
        "Gamma",
        "Memo",
    ]
    trash = run(client, token, "{ trash { edges { node { title } } } }")
    assert {e["node"]["title"] for e in trash["trash"]["edges"]} == {"report", "memo"}
    run_worker_burst(settings)
    hits = run(
        client,
        token,
        'query { search(query: "memo shed") { edges { node { document { title } } } } }',
    )
    assert [e["node"]["document"]["title"] for e in hits["search"]["edges"]] == ["everything"]


def test_edits_are_refused_while_processing(
    client: TestClient, make_user, redis_client, tmp_path: Path
) -> None:
    make_user("bob")
    token = login(client, "bob")
    body = upload(client, token, "new.pdf", text_pdf(tmp_path / "n.pdf", PAGES).read_bytes())
    document = body["data"]["uploadDocument"]["document"]["id"]
    refused = run(
        client,
        token,
        "mutation($id: ID!) { deletePages(documentId: $id, pages: [1]) { errors { code } } }",
        id=document,
    )
    assert refused["deletePages"]["errors"] == [{"code": "DOCUMENT_PROCESSING"}]


def test_reprocessing_after_edits_starts_from_the_edited_pages(
    client: TestClient, docs, settings
) -> None:
    token, (report, _) = docs
    run(
        client,
        token,
        "mutation($id: ID!) { deletePages(documentId: $id, pages: [2]) { errors { code } } }",
        id=report,
    )
    run(
        client,
        token,
        "mutation($id: ID!) { rotatePages(documentId: $id, pages: [{page: 2, degrees: 180}]) { errors { code } } }",
        id=report,
    )
    again = run(
        client,
        token,
        "mutation($id: ID!) { reprocessDocument(documentId: $id, ocrMode: OFF) { errors { code } } }",
        id=report,
    )
    assert again["reprocessDocument"]["errors"] == []
    run_worker_burst(settings)
    document = run(client, token, DOC, id=report)["document"]
    assert document["status"] == "READY"
    # Read afresh from the edited, layer-free file: the deleted page is gone, and the turned
    # page's words stand upside down (its first word now rightmost). Its text keeps the text
    # layer's own order, as any text layer's does (a page's text is not re-sorted by position).
    words = [e["node"]["text"].split() for e in document["pages"]["edges"]]
    assert words == [PAGES[0], PAGES[2]]
    turned = document["pages"]["edges"][1]["node"]["words"]
    assert turned[0]["x0"] > turned[-1]["x1"]
    # The final version's text layer holds each page's text once (not a second copy on top).
    pdf = pypdfium2.PdfDocument(client.get(document["versions"][-1]["downloadUrl"]).content)
    assert [pdf[i].get_textpage().get_text_bounded().split()[0] for i in range(len(pdf))] == [
        "Alpha",
        "Gamma",
    ]
    assert all(
        pdf[i].get_textpage().get_text_bounded().count("Alpha") <= 1 for i in range(len(pdf))
    )
