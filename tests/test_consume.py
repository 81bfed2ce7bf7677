"""The consumption folder: files in, moved to done/ or failed/ with a reason; nothing lost or
taken twice when the service is killed (real processes, real files, real database)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from samples import blank_pdf, text_pdf
from support import gid, settings_env

from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.models import Document, Node, User
from archivist.core.nodes import special_folder
from archivist.core.settings import Settings
from archivist.core.users import viewer_for


def _env(settings: Settings, consume: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(
        settings_env(
            settings.data_dir, settings.database_url, ARCHIVIST_CONSUME_DIR=str(consume), **extra
        )
    )
    return env


def consume_once(settings: Settings, consume: Path, **extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "archivist.core.cli", "consume", "--once"],
        env=_env(settings, consume, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def start_service(settings: Settings, consume: Path, log: Path, **extra: str) -> Any:
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "archivist.core.cli", "consume"],
            env=_env(settings, consume, ARCHIVIST_CONSUME_INTERVAL="1", **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition: Any, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def documents() -> list[tuple[str, str, int]]:
    """(owner, path below the owner's root, original size) of every document."""
    found = []
    with database.connection_context():
        for row in Document.select():
            node = Node.get_by_id(row.node_id)
            titles, current = [], node
            while current.parent_id is not None:
                titles.append(current.title)
                current = Node.get_by_id(current.parent_id)
            owner = User.get_by_id(node.owner_user_id).username
            found.append((owner, "/".join([current.title, *reversed(titles)]), row.original_size))
    return sorted(found)


def test_files_go_to_their_user_then_to_done_or_failed_with_a_reason(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    make_user("alice")
    make_user("bob")
    consume = tmp_path / "consume"
    (consume / "bob" / "Taxes").mkdir(parents=True)
    (consume / "nobody").mkdir()
    top = text_pdf(consume / "top.pdf", [["top"]])
    text_pdf(consume / "bob" / "Taxes" / "return.pdf", [["return"]])
    text_pdf(consume / "nobody" / "lost.pdf", [["lost"]])
    (consume / "notes.txt").write_text("not a document")
    (consume / ".hidden.pdf").write_bytes(top.read_bytes())
    (consume / "coming.pdf.part").write_bytes(b"%PDF-1.7 still arriving")
    top_content = top.read_bytes()
    size = len(top_content)

    output = consume_once(settings, consume, ARCHIVIST_CONSUME_USER="alice")
    assert "done     top.pdf: document" in output
    assert (consume / "done" / "top.pdf").is_file()
    assert (consume / "done" / "bob" / "Taxes" / "return.pdf").is_file()
    for failed, code in (("notes.txt", "UNSUPPORTED_TYPE"), ("nobody/lost.pdf", "USER_NOT_FOUND")):
        assert (consume / "failed" / failed).is_file(), failed
        reason = (consume / "failed" / f"{failed}.reason.txt").read_text()
        assert reason.startswith(f"{code}: "), reason
    # Hidden files and files still being written are left alone.
    assert (consume / ".hidden.pdf").exists() and (consume / "coming.pdf.part").exists()
    assert list((consume / "processing").rglob("*.*")) == []
    assert documents() == [
        ("alice", "Inbox/top", size),
        ("bob", "Inbox/Taxes/return", (consume / "done/bob/Taxes/return.pdf").stat().st_size),
    ]

    # The same content again is a duplicate: refused, with the document it duplicates.
    (consume / "again.pdf").write_bytes(top_content)
    consume_once(settings, consume, ARCHIVIST_CONSUME_USER="alice")
    reason = (consume / "failed" / "again.pdf.reason.txt").read_text()
    assert reason.startswith("DUPLICATE: This file is already document"), reason
    # A second file of the same name goes to done/ beside the first.
    text_pdf(consume / "top.pdf", [["another", "top"]])
    consume_once(settings, consume, ARCHIVIST_CONSUME_USER="alice")
    assert (consume / "done" / "top (2).pdf").is_file()
    assert len(documents()) == 3


def test_a_file_is_taken_only_once_it_stops_growing(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    make_user("alice")
    consume = tmp_path / "consume"
    consume.mkdir()
    content = text_pdf(tmp_path / "slow.pdf", [["slow", "scanner"]] * 3).read_bytes()
    service = start_service(
        settings, consume, tmp_path / "consume.log", ARCHIVIST_CONSUME_SETTLE="2"
    )
    try:
        with (consume / "slow.pdf").open("wb") as out:
            step = len(content) // 8 + 1
            for start in range(0, len(content), step):  # about 4 s, a poll every second
                out.write(content[start : start + step])
                out.flush()
                time.sleep(0.5)
        wait_for(lambda: (consume / "done" / "slow.pdf").exists(), what="the file in done/")
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=20)
    assert documents() == [("alice", "Inbox/slow", len(content))]


def test_killed_mid_file_and_restarted_the_file_is_ingested_exactly_once(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    make_user("alice")
    consume = tmp_path / "consume"
    consume.mkdir()
    log = tmp_path / "consume.log"
    # Many pages: the upload takes a while, long enough to be killed in the middle of it.
    big = blank_pdf(tmp_path / "big.pdf", 3000)
    processing = consume / "processing" / "big.pdf"
    (consume / "big.pdf").write_bytes(big.read_bytes())
    service = start_service(settings, consume, log, ARCHIVIST_CONSUME_SETTLE="0")
    wait_for(processing.exists, what="the file in processing/")
    os.kill(service.pid, signal.SIGKILL)
    service.wait()
    # Killed mid-file: not lost, still in processing/.
    assert processing.exists() and not (consume / "done" / "big.pdf").exists()

    # Restarted: taken up again, and a document exists exactly once.
    service = start_service(settings, consume, log, ARCHIVIST_CONSUME_SETTLE="0")
    try:
        wait_for(lambda: (consume / "done" / "big.pdf").exists(), what="the file in done/")
    finally:
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
    assert documents() == [("alice", "Inbox/big", big.stat().st_size)]
    assert not processing.exists() and list((consume / "failed").iterdir()) == []


def test_a_stop_between_the_document_and_the_move_keeps_one_document(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    """The crash window: the document was made, the file not yet moved out of processing/."""
    alice = make_user("alice")
    consume = tmp_path / "consume"
    (consume / "processing" / "alice").mkdir(parents=True)
    pdf = text_pdf(consume / "processing" / "alice" / "letter.pdf", [["letter"]])
    with database.connection_context():
        viewer = viewer_for(User.get_by_id(alice.id))
        inbox = special_folder(viewer, Node.INBOX)
        options = UploadOptions("letter.pdf", folder_id=gid("Folder", inbox.id))
        content = pdf.read_bytes()
        upload_document(settings, viewer, io.BytesIO(content), options, None)
    size = len(content)
    output = consume_once(settings, consume)
    assert "(taken up again)" in output, output
    assert (consume / "done" / "alice" / "letter.pdf").is_file()
    assert documents() == [("alice", "Inbox/letter", size)]
