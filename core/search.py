"""What the search index holds for a document: one record per page of its current version.

``core`` hands ``indexes`` plain records; the index never reads the database itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from archivist.core.db import database
from archivist.core.folders import ancestors
from archivist.core.models import (
    Document,
    DocumentType,
    DocumentVersion,
    Node,
    NodeTag,
    Page,
    Role,
    Share,
    Tag,
)
from archivist.core.settings import Settings
from archivist.indexes import PageRecord, SearchIndex, open_index


def folder_path(node: Node) -> tuple[str, ...]:
    """Titles of the folders above ``node``, from its root (Home) down."""
    return tuple(folder.title for folder in ancestors(node))


def readers_of(
    node: Node, above: Sequence[Node] = (), shares: dict[int, set[str]] | None = None
) -> tuple[str, ...]:
    """The principals that may read ``node``, as the index's reader terms: its owner, and
    whoever it or a folder ``above`` it is shared with (with a role that allows viewing).
    A group's members are not listed: a searcher's principals name their groups.
    ``shares``: :func:`shared_readers` of these nodes, when read already (bulk indexing)."""
    owner = (
        f"user:{node.owner_user_id}"
        if node.owner_user_id is not None
        else f"group:{node.owner_group_id}"
    )
    chain = [int(node.id), *(int(folder.id) for folder in above)]
    if shares is None:
        shares = shared_readers(chain)
    readers = {reader for node_id in chain for reader in shares.get(node_id, ())}
    return (owner, *sorted(readers - {owner}))


def shared_readers(node_ids: Sequence[int]) -> dict[int, set[str]]:
    """Whom each of ``node_ids`` is shared with directly, with a role that allows viewing,
    as reader terms (one query per chunk of ids)."""
    found: dict[int, set[str]] = {}
    for chunk in _chunks(node_ids):
        shared = (
            Share.select(Share.node, Share.user, Share.group, Role.permissions)
            .join(Role)
            .where(Share.node.in_(chunk))
        )
        for share in shared:
            if "node.view" in share.role.permission_set:
                reader = (
                    f"user:{share.user_id}"
                    if share.user_id is not None
                    else f"group:{share.group_id}"
                )
                found.setdefault(share.node_id, set()).add(reader)
    return found


@dataclass(frozen=True)
class IndexEntry:
    """What the index must hold for one document, all but the page text.

    Its :meth:`fingerprint` is what an index job records beside the revision it wrote, so that
    ``archivist index check`` can tell whether the index holds this title, folder path, tags,
    type, readers, version and pages without reading the index's stored fields.
    """

    document_id: int
    version_id: int
    title: str
    tags: tuple[str, ...]
    folder_path: tuple[str, ...]
    folder_ids: tuple[int, ...]
    document_type: str | None
    owner_id: int
    readers: tuple[str, ...]
    created: datetime
    modified: datetime
    default_language: str
    pages: tuple[tuple[int, int, str | None], ...]  # (page id, number, language)

    def fingerprint(self) -> str:
        facts = [
            self.version_id, self.title, list(self.tags), list(self.folder_path),
            list(self.folder_ids),
            self.document_type, self.owner_id, list(self.readers),
            int(self.created.timestamp()), int(self.modified.timestamp()),
            self.default_language, [list(page) for page in self.pages],
        ]  # fmt: skip
        return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


# What a document that must not be in the index (trashed, gone, no finished page) records.
ABSENT = "absent"


def index_entry(document_id: int) -> IndexEntry | None:
    """What the index must hold for the document; None when it must hold nothing (the
    document is gone, in the trash, or has no finished page of its current version)."""
    return index_entries([document_id])[document_id]


# Ids per IN (...) list: far below every database's limit on bound parameters.
_CHUNK = 500


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[start : start + _CHUNK] for start in range(0, len(ordered), _CHUNK)]


def _folders_above(nodes: Sequence[Node]) -> dict[int, Node]:
    """Every folder above ``nodes``, by id, read a level at a time (one query per depth,
    not one per document and ancestor)."""
    found: dict[int, Node] = {}
    asked: set[int] = set()  # a parent that is gone stays unfound: ancestors() stops there
    wanted = {node.parent_id for node in nodes if node.parent_id is not None}
    while wanted:
        asked |= wanted
        for chunk in _chunks(list(wanted)):
            for folder in Node.select().where(Node.id.in_(chunk)):
                found[folder.id] = folder
        parents = {folder.parent_id for folder in found.values()}
        wanted = {parent for parent in parents if parent is not None} - asked
    return found


def _chain(node: Node, folders: dict[int, Node]) -> list[Node]:
    """The folders above ``node`` from its root down, as :func:`ancestors` walks them."""
    chain: list[Node] = []
    parent_id = node.parent_id
    seen: set[int] = set()
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = folders.get(parent_id)
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    return list(reversed(chain))


def index_entries(document_ids: Sequence[int]) -> dict[int, IndexEntry | None]:
    """:func:`index_entry` for many documents at once, with a fixed number of queries per
    batch (not several per document): what bulk indexing runs."""
    entries: dict[int, IndexEntry | None] = dict.fromkeys(document_ids)
    nodes: dict[int, Node] = {}
    documents: dict[int, Document] = {}
    versions: dict[int, DocumentVersion] = {}
    for chunk in _chunks(document_ids):
        nodes.update(
            (node.id, node)
            for node in Node.select().where(Node.id.in_(chunk) & (Node.kind == Node.DOCUMENT))
        )
        documents.update(
            (row.node_id, row) for row in Document.select().where(Document.node.in_(chunk))
        )
        for version in DocumentVersion.select().where(DocumentVersion.document.in_(chunk)):
            newest = versions.get(version.document_id)
            if newest is None or version.number > newest.number:
                versions[version.document_id] = version  # current_version(): the newest
    folders = _folders_above(list(nodes.values()))
    chains = {document_id: _chain(node, folders) for document_id, node in nodes.items()}
    live = [
        document_id
        for document_id, node in nodes.items()
        if document_id in documents
        and document_id in versions
        # In the trash: trashed documents leave the index; restoring them brings them back.
        and node.deleted_at is None
        and all(folder.deleted_at is None for folder in chains[document_id])
    ]
    shares = shared_readers([*live, *(int(folder.id) for folder in folders.values())])
    pages: dict[int, list[tuple[int, int, str | None]]] = {}
    by_version = {versions[document_id].id: document_id for document_id in live}
    for chunk in _chunks(list(by_version)):
        query = (
            Page.select(Page.id, Page.number, Page.language, Page.version)
            .where(Page.version.in_(chunk) & (Page.status == Page.DONE))
            .order_by(Page.version, Page.number)
        )
        for page in query:
            pages.setdefault(by_version[page.version_id], []).append(
                (page.id, page.number, page.language)
            )
    tags: dict[int, list[str]] = {}
    for chunk in _chunks(live):
        named = Tag.select(Tag.name, NodeTag.node).join(NodeTag).where(NodeTag.node.in_(chunk))
        for name, node_id in cast(Iterable[tuple[str, int]], named.tuples()):
            tags.setdefault(node_id, []).append(name)
    type_ids = {documents[d].document_type_id for d in live} - {None}
    types = {row.id: row.name for row in DocumentType.select().where(DocumentType.id.in_(type_ids))}
    for document_id in live:
        if document_id not in pages:
            continue
        node, document, above = nodes[document_id], documents[document_id], chains[document_id]
        entries[document_id] = IndexEntry(
            document_id=document_id,
            version_id=versions[document_id].id,
            title=node.title,
            tags=tuple(sorted(tags.get(document_id, ()))),
            folder_path=tuple(folder.title for folder in above),
            folder_ids=tuple(int(folder.id) for folder in above),
            document_type=types.get(document.document_type_id)
            if document.document_type_id is not None
            else None,
            owner_id=node.owner_user_id or 0,
            readers=readers_of(node, above, shares),
            created=node.created_at,
            modified=node.updated_at,
            default_language=document.ocr_languages.split(",")[0],
            pages=tuple(pages[document_id]),
        )
    return entries


def _records(entry: IndexEntry, texts: dict[int, str] | None = None) -> list[PageRecord]:
    if texts is None:
        texts = _page_texts([entry])
    return [
        PageRecord(
            document_id=entry.document_id,
            version_id=entry.version_id,
            page_number=number,
            title=entry.title,
            tags=entry.tags,
            folder_path=entry.folder_path,
            folder_ids=entry.folder_ids,
            document_type=entry.document_type,
            language=(language or entry.default_language).split(",")[0],
            owner_id=entry.owner_id,
            readers=entry.readers,
            created=entry.created,
            modified=entry.modified,
            text=texts.get(page_id, ""),
        )
        for page_id, number, language in entry.pages
    ]


def _page_texts(entries: Sequence[IndexEntry]) -> dict[int, str]:
    """The text of every page of ``entries``, by page id (one query per chunk of pages)."""
    ids = [page_id for entry in entries for page_id, _, _ in entry.pages]
    texts: dict[int, str] = {}
    for chunk in _chunks(ids):
        rows = Page.select(Page.id, Page.text).where(Page.id.in_(chunk)).tuples()
        texts.update(cast(Iterable[tuple[int, str]], rows))
    return texts


def page_records(document_id: int) -> list[PageRecord]:
    """Records for every finished page of the document's current version ([] if none)."""
    entry = index_entry(document_id)
    return _records(entry) if entry else []


def index_documents(
    index: SearchIndex, document_ids: Sequence[int], *, owed_only: bool = False, take_owed: int = 0
) -> int:
    """Write the documents' entries as the database has them now, and record that it did.

    With ``owed_only``, only those of ``document_ids`` that still owe index work (or were
    never written by an index job) are written: a queued job whose debt another job paid
    meanwhile has nothing to do. With ``take_owed``, a write also takes up to that many other
    documents owing index work (the oldest debts first), so that a queue of single-document
    jobs is worked off in a few commits instead of one each. Both are decided under the job
    lock, after the jobs before this one have recorded what they wrote.

    Index jobs take turns on the index's job lock (a lock file in the index folder; for a
    remote index, the server's one writable connection, shared by every host) for the whole
    read, write and record, so two jobs for one document cannot write out of order. Each reads
    the revision before the data: a change committed meanwhile has a higher revision, so the
    index never records a newer revision than the data it holds, and that change's debt stays
    for its own job or the reconciler. No database write lock is held while the index is written (on
    SQLite that would stop every upload and edit for as long). Returns how many pages were
    written. Raises what the index's writes raise (a lock timeout, an unreachable remote
    index); then nothing is recorded and the debt stays for the next try.
    """
    ids = sorted(set(document_ids))
    if not ids:
        return 0
    with index.job_lock():
        if owed_only or take_owed:
            ids = _owed(ids, owed_only, take_owed)
            if not ids:
                return 0
        revisions = {
            row.node_id: row.index_revision
            for row in Document.select(Document.node, Document.index_revision).where(
                Document.node.in_(ids)
            )
        }
        entries = index_entries(ids)
        texts = _page_texts([entry for entry in entries.values() if entry is not None])
        records = {doc: _records(entry, texts) if entry else [] for doc, entry in entries.items()}
        index.replace_documents(records)
        with database.atomic():
            for document_id, revision in revisions.items():
                entry = entries[document_id]
                Document.update(
                    indexed_revision=revision,
                    indexed_fingerprint=entry.fingerprint() if entry else ABSENT,
                ).where(
                    (Document.node == document_id) & (Document.indexed_revision <= revision)
                ).execute()
    return sum(len(pages) for pages in records.values())


def _owed(ids: list[int], owed_only: bool, take_owed: int) -> list[int]:
    """``ids`` (with ``owed_only``: those owing index work, or never written by an index
    job) and, when any is left, up to ``take_owed`` other documents owing index work."""
    behind = Document.indexed_revision < Document.index_revision
    if owed_only and ids:
        query = Document.select(Document.node).where(
            Document.node.in_(ids) & (behind | Document.indexed_fingerprint.is_null())
        )
        ids = sorted(int(node_id) for (node_id,) in cast(Iterable[tuple[int]], query.tuples()))
    if take_owed > 0 and ids:
        # A scan of the documents (a comparison of two columns has no index), once per job
        # that has work to do: a job whose debt was paid ends before this.
        others = (
            Document.select(Document.node)
            .where(behind & Document.node.not_in(ids))
            .order_by(Document.index_requested_at, Document.node)
            .limit(take_owed)
        )
        taken = cast(Iterable[tuple[int]], others.tuples())
        ids = sorted({*ids, *(int(node_id) for (node_id,) in taken)})
    return ids


class _ThreadHandles(threading.local):
    """This thread's open index handles, by (backend, folder or remote address), and the
    process they belong to."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.indexes: dict[tuple[str, str], SearchIndex] = {}


_handles = _ThreadHandles()


def search_index(settings: Settings) -> SearchIndex:
    """This thread's handle on the configured index (opened on first use, then reused).

    An index object is not thread-safe (a Xapian ``Database`` or a Whoosh searcher crashes or
    answers wrongly when two threads use it at once), so each thread gets its own: the API's
    ``run_db`` pool and a worker's threads each hold one per index, at most one per thread.
    Each search moves the handle to the latest committed revision, so a long-lived handle
    never serves stale results. A handle is closed when its thread ends (the thread-local is
    collected); a forked child never reuses its parent's open files (or connections). With
    ``xapian_remote`` set, the handle is on the index ``xapian-tcpsrv`` serves there (opening
    it connects to nothing yet). Raises what :func:`archivist.indexes.open_index` raises.
    """
    if _handles.pid != os.getpid():  # forked: the parent's handles share its file offsets
        _handles.pid, _handles.indexes = os.getpid(), {}
    remote = settings.xapian_remote
    key = (settings.search_backend, remote or str(settings.index_dir))
    index = _handles.indexes.get(key)
    if index is None:
        if remote is None:
            settings.index_dir.mkdir(parents=True, exist_ok=True)
        index = _handles.indexes[key] = open_index(
            settings.search_backend, settings.index_dir, remote=remote,
            remote_timeout=settings.xapian_remote_timeout,
        )  # fmt: skip
    return index


def _ready_documents(since: datetime | None = None) -> list[int]:
    query = (
        Node.select(Node.id)
        .join(Document, on=(Document.node == Node.id))
        .where(Document.status == Document.READY)
    )
    if since is not None:
        query = query.where(Node.updated_at >= since)
    return [node.id for node in query.order_by(Node.id)]


# A reindex of this many documents (or a whole one) compacts the index afterwards.
COMPACT_AFTER_DOCUMENTS = 1000


def reindex(settings: Settings, since: datetime | None = None, batch: int = 100) -> int:
    """Rebuild the index from the database (all of it, or what changed since ``since``), then
    compact it after a whole or a large rebuild (:data:`COMPACT_AFTER_DOCUMENTS`; a remote
    index is left as it is, see :meth:`SearchIndex.compact`).

    Returns how many documents were written.
    """
    index = search_index(settings)
    if since is None:
        index.clear()
    ids = _ready_documents(since)
    for start in range(0, len(ids), batch):
        index_documents(index, ids[start : start + batch])
    if since is None or len(ids) >= COMPACT_AFTER_DOCUMENTS:
        index.compact()
    return len(ids)


def compact_index(settings: Settings) -> bool:
    """Compact the configured index (see :meth:`SearchIndex.compact`); False for a remote
    index, which cannot be compacted from here."""
    return search_index(settings).compact()


@dataclass
class IndexReport:
    missing: list[int] = field(default_factory=list)  # ready, but not in the index
    stale: list[int] = field(default_factory=list)  # indexed from an older version
    outdated: list[int] = field(default_factory=list)  # title, path, tags, type... changed since
    extra: list[int] = field(default_factory=list)  # in the index, gone, trashed or not ready

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.outdated or self.extra)

    def __str__(self) -> str:
        counts = (
            f"{len(self.missing)} missing, {len(self.stale)} stale, "
            f"{len(self.outdated)} outdated, {len(self.extra)} extra"
        )
        if self.ok:
            return counts
        return (
            f"{counts} (missing {self.missing[:10]}, stale {self.stale[:10]}, "
            f"outdated {self.outdated[:10]}, extra {self.extra[:10]})"
        )


def check_index(settings: Settings, repair: bool = False) -> IndexReport:
    """Compare the index with the database; with ``repair``, fix what differs.

    For every ready document, the database says what the index must hold (:func:`index_entry`):
    nothing for a trashed one, else its current version's finished pages under its title,
    folder path, tags, type and readers. The index must hold that version (asked of the index)
    and have been written from those facts (the fingerprint the index job recorded). Documents
    still processing are left out: their entries follow when they are ready.
    """
    index = search_index(settings)
    indexed = index.document_versions()
    report = IndexReport()
    rows = Document.select(Document.node, Document.status, Document.indexed_fingerprint).order_by(
        Document.node
    )
    known: set[int] = set()
    for row in rows:
        document_id = row.node_id
        known.add(document_id)
        if row.status == Document.PROCESSING:
            continue
        entry = index_entry(document_id) if row.status == Document.READY else None
        if entry is None:
            if document_id in indexed:
                report.extra.append(document_id)
        elif document_id not in indexed:
            report.missing.append(document_id)
        elif indexed[document_id] != entry.version_id:
            report.stale.append(document_id)
        elif row.indexed_fingerprint != entry.fingerprint():
            report.outdated.append(document_id)
    report.extra.extend(sorted(set(indexed) - known))
    if repair:
        todo = report.missing + report.stale + report.outdated + report.extra
        for start in range(0, len(todo), 100):
            index_documents(index, todo[start : start + 100])
    return report
