"""``archivist import``: files and folder trees from this machine, as a user's documents.

Each file goes through :func:`archivist.core.documents.upload_document`, the code path of the
``uploadDocument`` mutation, on behalf of the user: the same checks, limits, refusals and
permission checks. A folder given with ``--recursive`` becomes a folder of the same name
(like ``cp -r``), its subfolders subfolders. A file whose content the user already has there
(see :mod:`archivist.core.ingestion.duplicates`) is skipped, so running an import again
imports only what is new.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from redis import Redis
from redis.exceptions import RedisError

from archivist.core.db import database
from archivist.core.documents import UploadOptions, check_languages, upload_document
from archivist.core.errors import UserFacingError
from archivist.core.folders import clean_title, create_folder, in_trash
from archivist.core.ids import global_id
from archivist.core.index_state import mark_for_index
from archivist.core.ingestion.duplicates import DuplicateDocument
from archivist.core.models import DocumentVersion, Node, Tag, User
from archivist.core.nodes import special_folder
from archivist.core.queue import enqueue_index
from archivist.core.settings import Settings
from archivist.core.tags import create_tag, tag_nodes
from archivist.core.users import Viewer, viewer_for

IMPORTED = "imported"
DUPLICATE = "duplicate"
REFUSED = "refused"
ROOTS = {"home": Node.HOME, "inbox": Node.INBOX}


@dataclass(frozen=True)
class ImportRequest:
    """What to import, where, and how (the command line's options)."""

    paths: tuple[Path, ...]
    folder: str = "Inbox"
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] | None = None
    ocr_mode: str = "auto"
    recursive: bool = False
    allow_duplicate: bool = False


@dataclass(frozen=True)
class SourceFile:
    """A file to import and the folders (below the target folder) it goes into."""

    path: Path
    folders: tuple[str, ...]

    @property
    def label(self) -> str:
        return "/".join((*self.folders, self.path.name))


@dataclass
class Outcome:
    """What became of one file: imported (a new document), a duplicate, or refused."""

    source: SourceFile
    status: str
    document_id: int | None = None
    pages: int = 0
    code: str | None = None
    message: str | None = None


@dataclass
class ImportReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def refused(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == REFUSED]


class ImportProgress:
    """What an import tells as it goes; the command line draws it (see progress_bars)."""

    def planned(self, files: list[SourceFile]) -> None:
        """The files found, before any is uploaded."""

    def uploading(self, source: SourceFile, size: int) -> None:
        """A file starts uploading (``size`` bytes)."""

    def uploaded_bytes(self, source: SourceFile, done: int) -> None:
        """``done`` bytes of the file are read."""

    def finished(self, outcome: Outcome) -> None:
        """A file's outcome is known."""


class _ReportingReader:
    """A file that reports how much of it has been read (the upload's progress)."""

    def __init__(self, stream: BinaryIO, report: Callable[[int], None]) -> None:
        self._stream = stream
        self._report = report
        self._done = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._done += len(chunk)
        self._report(self._done)
        return chunk


def find_user(username: str | None) -> User:
    """The user to import for: ``username``, or the only user there is.

    Raises UserFacingError(USER_NOT_FOUND or USER_REQUIRED).
    """
    if username is None:
        users = list(User.select().where(User.is_active).limit(2))
        if len(users) != 1:
            raise UserFacingError("USER_REQUIRED", "Say whose documents these are: --user NAME.")
        return users[0]
    user = User.get_or_none((User.username == username) & User.is_active)
    if user is None:
        raise UserFacingError("USER_NOT_FOUND", f"There is no active user '{username}'.", "user")
    found: User = user
    return found


def target_folder(viewer: Viewer, path: str) -> Node:
    """The folder ``Home/Taxes/2024`` (or ``Inbox/...``) of the viewer, made where missing.

    Raises UserFacingError(INVALID_FOLDER, INVALID_TITLE, TITLE_TAKEN).
    """
    parts = [part for part in path.strip().split("/") if part.strip()]
    if not parts or parts[0].strip().lower() not in ROOTS:
        raise UserFacingError(
            "INVALID_FOLDER",
            f"A folder starts with Home or Inbox, like Home/Taxes; got {path!r}.",
            "folder",
        )
    return FolderMaker(viewer).folder(
        special_folder(viewer, ROOTS[parts[0].strip().lower()]), tuple(parts[1:])
    )


class FolderMaker:
    """Finds or makes folders by title below a folder, remembering what it found."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self._known: dict[tuple[int, str], Node] = {}

    def folder(self, parent: Node, titles: tuple[str, ...]) -> Node:
        for raw in titles:
            title = clean_title(raw, "folder")
            key = (parent.id, title)
            if key not in self._known:
                found = Node.get_or_none(
                    (Node.parent == parent.id) & (Node.title == title) & (Node.kind == Node.FOLDER)
                )
                self._known[key] = found or create_folder(
                    self.viewer, global_id("Folder", parent.id), title
                )
            parent = self._known[key]
        return parent


def _hidden(name: str) -> bool:
    return name.startswith(".")


def find_files(paths: tuple[Path, ...], recursive: bool) -> tuple[list[SourceFile], list[Outcome]]:
    """The files to import, in a stable order, and the paths refused at once."""
    files: list[SourceFile] = []
    refused: list[Outcome] = []
    for path in paths:
        if path.is_file():
            files.append(SourceFile(path, ()))
        elif path.is_dir() and recursive:
            files.extend(_walk(path))
        else:
            code, message = (
                ("IS_A_FOLDER", "This is a folder: give --recursive to import what it holds.")
                if path.is_dir()
                else ("FILE_NOT_FOUND", "There is no such file.")
            )
            refused.append(Outcome(SourceFile(path, ()), REFUSED, code=code, message=message))
    return files, refused


def _walk(root: Path) -> Iterator[SourceFile]:
    """Every file below ``root`` (hidden files and folders left out; links to folders not
    followed, so a loop cannot make the walk endless)."""
    base = root.resolve().name or "Import"
    for directory, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not _hidden(name))
        relative = Path(directory).relative_to(root).parts
        for name in sorted(names):
            if not _hidden(name):
                yield SourceFile(Path(directory) / name, (base, *relative))


def _tags(viewer: Viewer, names: tuple[str, ...]) -> list[str]:
    """Ids of the viewer's tags with these names, made where missing."""
    ids = []
    for name in names:
        tag = Tag.get_or_none((Tag.owner_user == viewer.id) & (Tag.name == name.strip()))
        ids.append(global_id("Tag", (tag or create_tag(viewer, name)).id))
    return ids


def _tag(viewer: Viewer, redis: Redis | None, document_id: int, tag_ids: list[str]) -> None:
    with database.atomic():
        _, documents = tag_nodes(viewer, [global_id("Document", document_id)], tag_ids)
        mark_for_index(documents)
    if redis is not None and documents:
        # Without Redis, the reconciler enqueues the index work the database says is owed.
        with contextlib.suppress(RedisError):
            enqueue_index(redis, *documents)


def run_import(
    settings: Settings,
    user: User,
    request: ImportRequest,
    redis: Redis | None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import the request's files for ``user``; returns what became of each.

    Raises UserFacingError for a bad folder or tag before any file is uploaded; a file that
    cannot be taken is an outcome (REFUSED, with the upload's code and message).
    """
    progress = progress or ImportProgress()
    viewer = viewer_for(user)
    root = target_folder(viewer, request.folder)
    if in_trash(root):
        raise UserFacingError("IN_TRASH", "That folder is in the trash.", "folder")
    if request.languages:
        check_languages(request.languages)  # a bad option stops the import before any file
    tag_ids = _tags(viewer, request.tags)
    files, refused = find_files(request.paths, request.recursive)
    report = ImportReport(list(refused))
    for outcome in refused:
        progress.finished(outcome)
    progress.planned(files)
    folders = FolderMaker(viewer)
    for source in files:
        outcome = _import_one(settings, viewer, redis, request, folders, root, source, progress)
        if outcome.status == IMPORTED and tag_ids and outcome.document_id is not None:
            _tag(viewer, redis, outcome.document_id, tag_ids)
        report.outcomes.append(outcome)
        progress.finished(outcome)
    return report


def _import_one(
    settings: Settings,
    viewer: Viewer,
    redis: Redis | None,
    request: ImportRequest,
    folders: FolderMaker,
    root: Node,
    source: SourceFile,
    progress: ImportProgress,
) -> Outcome:
    try:
        folder = folders.folder(root, source.folders)
        progress.uploading(source, source.path.stat().st_size)
        options = UploadOptions(
            filename=source.path.name,
            folder_id=global_id("Folder", folder.id),
            languages=request.languages,
            ocr_mode=request.ocr_mode,
            allow_duplicate=request.allow_duplicate,
        )
        with source.path.open("rb") as stream:
            reader = _ReportingReader(stream, lambda done: progress.uploaded_bytes(source, done))
            node = upload_document(settings, viewer, cast(BinaryIO, reader), options, redis)
    except DuplicateDocument as error:
        return Outcome(source, DUPLICATE, error.existing_id, code=error.code, message=error.message)
    except UserFacingError as error:
        return Outcome(source, REFUSED, code=error.code, message=error.message)
    except OSError as error:
        return Outcome(source, REFUSED, code="UNREADABLE", message=error.strerror or str(error))
    return Outcome(source, IMPORTED, node.id, pages=_page_count(node.id))


def _page_count(document_id: int) -> int:
    version = DocumentVersion.get_or_none(
        (DocumentVersion.document == document_id) & (DocumentVersion.number == 1)
    )
    return int(version.page_count) if version is not None else 0
