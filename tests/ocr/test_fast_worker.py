"""A real worker on EasyOCR's fast path (ONNX Runtime, OpenVINO) reads an uploaded document end
to end, and its start-up line says where it runs."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from samples import SCANNED_LINES, mixed_pdf

from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.models import Document, DocumentVersion, Page
from archivist.core.settings import Settings
from archivist.core.users import create_user, viewer_for

pytestmark = pytest.mark.slow


def _wait_ready(node_id: int, timeout: float = 600) -> Document:
    deadline = time.monotonic() + timeout
    while True:
        with database.connection_context():
            document = Document.get(Document.node == node_id)
            if document.status in (Document.READY, Document.FAILED):
                return document
        assert time.monotonic() < deadline, "the document was not read in time"
        time.sleep(0.5)


@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_worker_reads_an_upload_with_the_fast_path(
    runtime: str, settings: Settings, workers: Any, redis_client: Any, tmp_path: Path
) -> None:
    if runtime == "openvino":
        pytest.importorskip("openvino")
    with database.connection_context():
        viewer = viewer_for(create_user("reader", "reader password 0123"))
        node = upload_document(
            settings,
            viewer,
            io.BytesIO(mixed_pdf(tmp_path / "mixed.pdf").read_bytes()),
            UploadOptions(filename="mixed.pdf", ocr_mode="force"),
            redis_client,
        )
    process = workers.start(
        f"fast-{runtime}", ARCHIVIST_EASYOCR_RUNTIME=runtime, ARCHIVIST_OCR_THREADS="1"
    )
    document = _wait_ready(int(node.id))
    assert document.status == Document.READY, workers.logs()

    with database.connection_context():  # the newest version: the searchable PDF
        version = (
            DocumentVersion.select()
            .where(DocumentVersion.document == node.id)
            .order_by(DocumentVersion.number.desc())
            .first()
        )
        pages = list(Page.select().where(Page.version == version).order_by(Page.number))
    assert [page.engine for page in pages] == ["easyocr"] * 3
    assert [page.text for page in pages[1:]] == [" ".join(line) for line in SCANNED_LINES]
    # The model was loaded when the worker started, and the log says where it runs.
    if runtime == "onnx":
        assert "OCR: EasyOCR on ONNX Runtime, CPU, 1 thread(s)" in workers.logs()
    else:
        from archivist.jobs.easyocr_openvino import cpu_precision

        assert f"OCR: EasyOCR on OpenVINO, CPU {cpu_precision()}" in workers.logs()
        assert "1 thread(s)" in workers.logs()
    # The fast path never loads torch into the worker (that is most of its memory saving).
    maps = Path(f"/proc/{process.pid}/maps")
    if maps.exists():
        assert "libtorch" not in maps.read_text()
