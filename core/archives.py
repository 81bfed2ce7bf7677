"""Zip downloads of folders and selections, streamed: memory stays bounded whatever the size.

The zip keeps the folder structure below each chosen node; each document contributes its
current version's PDF. Entries are stored, not deflated: PDFs are compressed already.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archivist.core.errors import UserFacingError
from archivist.core.models import DocumentVersion, Node
from archivist.core.nodes import get_node
from archivist.core.processing import current_version
from archivist.core.settings import Settings
from archivist.core.storage import Storage
from archivist.core.users import Viewer

if TYPE_CHECKING:  # collections.abc.Buffer arrives in Python 3.12
    from typing_extensions import Buffer

CHUNK = 1024 * 1024
MAX_NODES = 100_000


@dataclass(frozen=True)
class Entry:
    name: str  # path inside the zip; a folder ends with "/"
    file: Path | None


# Characters that separate paths or are refused by some unzip tool or file system.
_UNSAFE_CHARACTERS = frozenset('/\\:*?"<>|')


def _safe(title: str) -> str:
    """One path component made from a title: no separators, control characters or NULs, and
    never ``.``/``..`` (a folder titled ``..`` would otherwise escape the unzip folder)."""
    name = "".join(
        "_" if c in _UNSAFE_CHARACTERS or ord(c) < 32 or ord(c) == 127 else c for c in title
    ).strip()
    if name and not name.strip("."):
        name = "_" * len(name)  # ".", "..", "...": dots only mean "here" or "up" somewhere
    return name or "untitled"


def check_entry_name(name: str) -> None:
    """Refuse a zip entry name that could land outside the folder it is unpacked into.

    Raises ``ValueError`` for an absolute path, a backslash, a NUL or other control character,
    or an empty, ``.`` or ``..`` component. :func:`collect` only makes safe names; this is the
    last check before a name is written, so a future caller cannot get it wrong.
    """
    components = name.removesuffix("/").split("/")
    bad = (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
        or any(component in ("", ".", "..") for component in components)
        or (len(name) > 1 and name[1] == ":")  # a Windows drive letter
    )
    if bad:
        raise ValueError(f"unsafe zip entry name: {name!r}")


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, extension = name.rpartition(".") if name.endswith(".pdf") else (name, "", "")
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{stem} ({number}){dot}{extension}"
    taken.add(candidate.lower())
    return candidate


def collect(settings: Settings, viewer: Viewer, node_ids: list[str]) -> list[Entry]:
    """What goes into the zip; raises NotFound for a node the viewer may not read."""
    storage = Storage(settings.storage_dir)
    entries: list[Entry] = []
    taken: set[str] = set()
    roots = [get_node(viewer, node_id, "ids", "document.download") for node_id in node_ids]
    if not roots:
        raise UserFacingError("NOTHING_SELECTED", "Choose at least one folder or document.", "ids")
    stack: list[tuple[Node, str, set[str]]] = [(node, "", taken) for node in reversed(roots)]
    while stack:
        node, prefix, siblings = stack.pop()
        if len(entries) > MAX_NODES:
            raise UserFacingError("TOO_MANY", f"A zip holds at most {MAX_NODES} entries.", "ids")
        if node.kind == Node.DOCUMENT:
            version: DocumentVersion | None = current_version(node.id)
            if version is not None:
                name = _unique(f"{_safe(node.title)}.pdf", siblings)
                entries.append(Entry(prefix + name, storage.path(version.file_hash)))
            continue
        folder = prefix + _unique(_safe(node.title), siblings) + "/"
        entries.append(Entry(folder, None))
        children = (
            Node.select()
            .where((Node.parent == node.id) & Node.deleted_at.is_null())
            .order_by(Node.kind.desc(), Node.title)
        )
        inner: set[str] = set()
        stack.extend((child, folder, inner) for child in reversed(list(children)))
    return entries


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands out what was written since the last drain."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        return len(chunk)

    def drain(self) -> Iterator[bytes]:
        parts, self.parts = self.parts, []
        if parts:
            yield b"".join(parts)


def stream_zip(entries: list[Entry]) -> Iterator[bytes]:
    """The zip, chunk by chunk (about a MiB each); memory use does not grow with the files.

    Raises ``ValueError`` for an unsafe entry name (see :func:`check_entry_name`).
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for entry in entries:
            check_entry_name(entry.name)
            if entry.file is None:
                archive.writestr(entry.name, b"")
                yield from sink.drain()
                continue
            info = zipfile.ZipInfo.from_file(entry.file, entry.name)
            with archive.open(info, "w", force_zip64=True) as out, entry.file.open("rb") as source:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()
