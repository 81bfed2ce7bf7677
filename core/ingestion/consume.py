"""The consumption folder: files put into ``ARCHIVIST_CONSUME_DIR`` become documents.

A file at the top of the folder is a document of ``ARCHIVIST_CONSUME_USER`` (default: the only
user there is); a file in a subfolder named after a user is that user's, and folders below that
one become folders in the user's Inbox. Once a file has stopped changing (same size and
modification time for ``ARCHIVIST_CONSUME_SETTLE`` seconds), it is moved into ``processing/``,
uploaded through :func:`archivist.core.documents.upload_document` (the mutation's code path),
then moved to ``done/``, or to ``failed/`` with ``<name>.reason.txt`` beside it saying why.

Nothing is lost, and nothing is ingested twice, when the service or the machine stops at any
point: a file is in exactly one place at any time (every move is a rename within the folder),
and on every pass the files left in ``processing/`` are taken up again: one whose content the
user already has as a document of the same original name was ingested just before the stop,
and only moves on to ``done/``; any other is uploaded as usual. An error that is not the file's
fault (the database unreachable) leaves the file in ``processing/`` for the next pass.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from archivist.core.atomic_write import atomic_write
from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.errors import UserFacingError
from archivist.core.ids import global_id
from archivist.core.ingestion.duplicates import find_duplicate
from archivist.core.ingestion.importer import FolderMaker
from archivist.core.models import Document, Node, User
from archivist.core.nodes import special_folder
from archivist.core.queue import redis_connection
from archivist.core.settings import Settings
from archivist.core.users import viewer_for

PROCESSING = "processing"
DONE = "done"
FAILED = "failed"
STATE_FOLDERS = (PROCESSING, DONE, FAILED)
REASON_SUFFIX = ".reason.txt"
# Names that programs give files they are still writing.
UNFINISHED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", "~")
HASH_CHUNK = 1024 * 1024

logger = logging.getLogger("archivist.consume")


class ConsumeError(Exception):
    """The consumption folder is not configured or not usable."""


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int
    since: float


def _waiting(name: str) -> bool:
    return name.startswith(".") or name.endswith(UNFINISHED_SUFFIXES)


def _free_name(target: Path) -> Path:
    """``target``, or ``name (2).ext``... whichever does not exist yet."""
    candidate, number = target, 1
    while candidate.exists():
        number += 1
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
    return candidate


def _rename(source: Path, target: Path) -> None:
    """Move a file within the folder, durably: after a power cut it is in one place or the
    other, never in neither."""
    os.rename(source, target)
    for folder in {target.parent, source.parent}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Consumer:
    """One consumption folder. Not thread-safe: one consumer per folder and process."""

    def __init__(self, settings: Settings, redis: Redis | None) -> None:
        if settings.consume_dir is None:
            raise ConsumeError("ARCHIVIST_CONSUME_DIR is not set: there is no folder to watch")
        self.settings = settings
        self.redis = redis
        self.root = settings.consume_dir
        self.seen: dict[Path, Seen] = {}
        try:
            for name in STATE_FOLDERS:
                (self.root / name).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConsumeError(f"ARCHIVIST_CONSUME_DIR: cannot use {self.root}: {error}") from None

    def state(self, name: str) -> Path:
        return self.root / name

    # Finding files

    def _new_files(self) -> list[Path]:
        found = []
        for directory, subfolders, names in os.walk(self.root):
            here = Path(directory)
            subfolders[:] = sorted(
                name
                for name in subfolders
                if not name.startswith(".") and not (here == self.root and name in STATE_FOLDERS)
            )
            found += [here / name for name in sorted(names) if not _waiting(name)]
        return found

    def _left_in_processing(self) -> list[Path]:
        return sorted(path for path in self.state(PROCESSING).rglob("*") if path.is_file())

    def settled(self, now: float, settle: float) -> list[Path]:
        """New files that have not changed for ``settle`` seconds (remembering the rest)."""
        ready = []
        current: dict[Path, Seen] = {}
        for path in self._new_files():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            before = self.seen.get(path)
            if before is None or (before.size, before.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                current[path] = Seen(stat.st_size, stat.st_mtime_ns, now)
            elif now - before.since >= settle:
                ready.append(path)
            else:
                current[path] = before
        self.seen = current
        return ready

    # Taking files

    def run_pass(self, settle: float | None = None) -> int:
        """Take up what ``processing/`` holds, then the settled new files; returns how many
        files were handled. ``settle`` None takes every new file at once."""
        handled = 0
        for path in self._left_in_processing():
            handled += self.ingest(path, resumed=True)
        new = self._new_files() if settle is None else self.settled(time.monotonic(), settle)
        for path in new:
            claimed = self.claim(path)
            if claimed is not None:
                handled += self.ingest(claimed, resumed=False)
        return handled

    def claim(self, path: Path) -> Path | None:
        """Move a new file into ``processing/`` (keeping its place below the folder)."""
        target = _free_name(self.state(PROCESSING) / path.relative_to(self.root))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _rename(path, target)
        except FileNotFoundError:
            return None  # taken away meanwhile
        return target

    def _owner(self, relative: Path) -> tuple[User, tuple[str, ...]]:
        parts = relative.parts
        if len(parts) == 1:
            username = self.settings.consume_user
            if username is None:
                users = list(User.select().where(User.is_active).limit(2))
                if len(users) == 1:
                    return users[0], ()
                raise UserFacingError(
                    "USER_REQUIRED",
                    "Put the file into the subfolder named after its user, or set "
                    "ARCHIVIST_CONSUME_USER.",
                )
        else:
            username = parts[0]
        user = User.get_or_none((User.username == username) & User.is_active)
        if user is None:
            raise UserFacingError(
                "USER_NOT_FOUND", f"There is no active user '{username}' for this file."
            )
        return user, tuple(parts[1:-1])

    def ingest(self, path: Path, *, resumed: bool) -> int:
        """Upload a file from ``processing/``, then move it on; 1 when it moved on."""
        relative = path.relative_to(self.state(PROCESSING))
        try:
            with database.connection_context():
                user, folders = self._owner(relative)
                viewer = viewer_for(user)
                folder = FolderMaker(viewer).folder(special_folder(viewer, Node.INBOX), folders)
                if resumed:
                    existing = self._ingested_before(folder, path)
                    if existing is not None:
                        self._move(path, DONE, relative)
                        self._log(f"done     {relative}: document {existing} (taken up again)")
                        return 1
                options = UploadOptions(
                    filename=path.name, folder_id=global_id("Folder", folder.id)
                )
                with path.open("rb") as stream:
                    node = upload_document(self.settings, viewer, stream, options, self.redis)
        except UserFacingError as error:
            self._fail(path, relative, f"{error.code}: {error.message}")
            return 1
        except Exception as error:  # not the file's fault: try again on the next pass
            logger.warning("consume: %s stays in processing/ for now: %r", relative, error)
            self._log(f"waiting  {relative}: {error!r}; trying again on the next pass")
            return 0
        self._move(path, DONE, relative)
        self._log(f"done     {relative}: document {node.id}")
        return 1

    @staticmethod
    def _ingested_before(folder: Node, path: Path) -> int | None:
        """The document this file became before a stop, if it did."""
        existing = find_duplicate(folder, _sha256(path))
        if existing is None:
            return None
        names = Document.select(Document.original_name).where(Document.node == existing.id)
        if not any(row.original_name == path.name[:255] for row in names):
            return None  # a duplicate of another file: the upload refuses it as such
        found: int = existing.id
        return found

    def _move(self, path: Path, state: str, relative: Path) -> Path:
        target = _free_name(self.state(state) / relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        _rename(path, target)
        return target

    def _fail(self, path: Path, relative: Path, reason: str) -> None:
        target = _free_name(self.state(FAILED) / relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The reason first: a stop in between leaves the file in processing/, taken up again.
        reason_file = target.with_name(target.name + REASON_SUFFIX)
        with atomic_write(reason_file) as out:
            out.write((reason + "\n").encode("utf-8"))
        _rename(path, target)
        self._log(f"failed   {relative}: {reason}")

    @staticmethod
    def _log(line: str) -> None:
        print(line, flush=True)


def run_consumer(settings: Settings, *, once: bool = False) -> None:
    """Watch the consumption folder until stopped (``once``: one pass over what is there).

    Raises ConsumeError when the folder is not configured or cannot be used.
    """
    redis = redis_connection(settings) if settings.redis_url else None
    consumer = Consumer(settings, redis)
    if once:
        consumer.run_pass(settle=None)
        return
    print(f"Watching {consumer.root} for new documents.", flush=True)
    while True:
        consumer.run_pass(settle=settings.consume_settle)
        time.sleep(settings.consume_interval)
