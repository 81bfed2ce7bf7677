"""``archivist import``: files and trees in, through the upload's own code path, as a person
runs it (a real process, a real database and Redis, real files)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from samples import text_pdf
from support import settings_env

from archivist.core.db import database
from archivist.core.ingestion.importer import IMPORTED, Outcome, SourceFile
from archivist.core.ingestion.progress_bars import ProgressBars
from archivist.core.models import Document, Node, NodeTag, Tag
from archivist.core.progress import PAGE_DONE, READY, ProgressEvent
from archivist.core.settings import Settings


def archivist(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    full_env.update(settings_env(settings.data_dir, settings.database_url, **env))
    return subprocess.run(
        [sys.executable, "-m", "archivist.core.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tree(root: Path, files: int) -> Path:
    """``files`` distinct one-page PDFs in a few nested folders below ``root/scans``."""
    scans = root / "scans"
    for number in range(files):
        folder = scans / ("2023" if number % 2 else "2024") / f"box {number % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        text_pdf(folder / f"scan {number:03d}.pdf", [[f"letter{number}"]])
    return scans


def _path_of(node: Node) -> str:
    titles = []
    current: Node | None = node
    while current is not None:
        titles.append(current.title)
        current = Node.get_or_none(Node.id == current.parent_id) if current.parent_id else None
    return "/".join(reversed(titles))


def test_a_tree_of_200_files_then_nothing_the_second_time(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    make_user("alice")
    make_user("bob")
    scans = _tree(tmp_path, 200)
    args = ("import", str(scans), "--user", "alice", "--folder", "Home/Taxes", "--recursive")
    first = archivist(settings, *args, "--ocr-mode", "off", "--tag", "paper")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[-1] == (
        "Imported 200 file(s) (200 page(s)), skipped 0 duplicate(s), refused 0."
    )
    assert "imported  scans/2024/box 0/scan 000.pdf: document" in first.stdout
    with database.connection_context():
        documents = list(Node.select().where(Node.kind == Node.DOCUMENT))
        assert len(documents) == 200
        assert {document.owner_user_id for document in documents} == {
            Node.get(Node.special == Node.HOME, Node.title == "Home").owner_user_id
        }
        paths = {_path_of(document) for document in documents}
        assert "Home/Taxes/scans/2024/box 0/scan 000" in paths
        assert "Home/Taxes/scans/2023/box 4/scan 199" in paths
        assert {row.ocr_mode for row in Document.select()} == {"off"}
        (tag,) = Tag.select().where(Tag.name == "paper")
        assert NodeTag.select().where(NodeTag.tag == tag).count() == 200

    second = archivist(settings, *args, "--ocr-mode", "off")
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.splitlines()[-1] == (
        "Imported 0 file(s) (0 page(s)), skipped 200 duplicate(s), refused 0."
    )
    with database.connection_context():
        assert Node.select().where(Node.kind == Node.DOCUMENT).count() == 200
    # Bob has none of these: for him they are new.
    bobs = archivist(settings, "import", str(scans / "2023" / "box 1"), "-r", "--user", "bob")
    assert bobs.stdout.splitlines()[-1].startswith("Imported 20 file(s)"), bobs.stdout


def test_refusals_are_reported_with_their_reason_and_exit_1(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    make_user("alice")
    tree = tmp_path / "mixed"
    (tree / "sub").mkdir(parents=True)
    text_pdf(tree / "good.pdf", [["good"]])
    (tree / "sub" / "copy.pdf").write_bytes((tree / "good.pdf").read_bytes())
    (tree / "notes.txt").write_text("not a document")
    (tree / "empty.pdf").write_bytes(b"")
    (tree / ".hidden.pdf").write_bytes((tree / "good.pdf").read_bytes())
    folder_only = tmp_path / "folder"
    folder_only.mkdir()
    result = archivist(
        settings, "import", str(tree), str(folder_only), str(tmp_path / "missing.pdf"),
        "--recursive", "--user", "alice",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    summary = lines.index("Imported 1 file(s) (1 page(s)), skipped 1 duplicate(s), refused 3.")
    refused = lines[summary + 1 :]
    assert sorted(line.split(": ")[1] for line in refused) == [
        "EMPTY_FILE", "FILE_NOT_FOUND", "UNSUPPORTED_TYPE",
    ], refused  # fmt: skip
    assert "duplicate mixed/sub/copy.pdf: already document" in result.stdout
    # A folder without --recursive is refused as well.
    alone = archivist(settings, "import", str(folder_only), "--user", "alice")
    assert alone.returncode == 1 and "IS_A_FOLDER" in alone.stdout
    with database.connection_context():
        assert Node.select().where(Node.kind == Node.DOCUMENT).count() == 1


def test_the_uploads_limits_and_options_hold_for_an_import(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    make_user("alice")
    make_user("bob")
    pdf = text_pdf(tmp_path / "big.pdf", [["big"]])
    small_limit = archivist(
        settings, "import", str(pdf), "--user", "alice", ARCHIVIST_MAX_UPLOAD_SIZE="100"
    )
    assert small_limit.returncode == 1 and "refused 1." in small_limit.stdout
    assert "TOO_LARGE" in small_limit.stdout
    for args, message in (
        (("--user", "nobody"), "There is no active user 'nobody'."),
        ((), "Say whose documents these are: --user NAME."),  # two users: whose?
        (("--user", "alice", "--folder", "Taxes"), "A folder starts with Home or Inbox"),
        (("--user", "alice", "--language", "xx1"), "Languages are ISO 639-1 codes"),
    ):
        result = archivist(settings, "import", str(pdf), *args)
        assert message in result.stdout + result.stderr, (args, result.stdout, result.stderr)
        assert result.returncode == 2, args
    with database.connection_context():
        assert Node.select().where(Node.kind == Node.DOCUMENT).count() == 0


def test_wait_follows_the_pages_to_the_end(
    settings: Settings, make_user: Any, workers: Any, tmp_path: Path
) -> None:
    make_user("alice")
    folder = tmp_path / "letters"
    folder.mkdir()
    text_pdf(folder / "one.pdf", [["one"]])
    text_pdf(folder / "two.pdf", [["two", "pages"], ["second"]])
    workers.start("w1")
    result = archivist(settings, "import", str(folder), "-r", "--user", "alice", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr + workers.logs()
    assert "ready     letters/one.pdf: document" in result.stdout
    assert "ready     letters/two.pdf: document" in result.stdout
    assert result.stdout.splitlines()[-1] == "Processed 3/3 page(s); 0 document(s) failed."
    with database.connection_context():
        assert {row.status for row in Document.select()} == {Document.READY}


def test_bars_on_a_terminal() -> None:
    out = io.StringIO()
    bars = ProgressBars(out, wait=True, terminal=True)
    source = SourceFile(Path("/scans/a.pdf"), ("scans",))
    bars.planned([source])
    bars.uploading(source, 1000)
    bars.uploaded_bytes(source, 500)
    bars.finished(Outcome(source, IMPORTED, 7, pages=4))
    bars.event(ProgressEvent(7, PAGE_DONE, 2, 4, page_number=2))
    bars._draw(force=True)
    assert "[##########----------] 2/4 pages scans/a.pdf" in out.getvalue()
    assert "1/1 files, pages 2/4 done" in out.getvalue()
    bars.event(ProgressEvent(7, READY, 4, 4))
    assert bars.unfinished() == [] and bars.pages() == (4, 4)
    assert "ready     scans/a.pdf: document 7" in out.getvalue()
