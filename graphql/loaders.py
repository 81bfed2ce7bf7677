"""Per-request batch loaders: a list of N nodes costs the same number of queries as one.

Resolvers ask a loader for one key; the loader collects every key asked for in the same turn
of the event loop and fetches them with one query (in a worker thread), then caches them for
the rest of the request.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

from graphql import GraphQLResolveInfo
from peewee import fn

from archivist.core.db import run_db
from archivist.core.models import (
    CustomField,
    CustomFieldValue,
    Document,
    DocumentType,
    DocumentVersion,
    NodeTag,
    Page,
    Tag,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], dict[K, V]], default: V) -> None:
        self.fetch = fetch
        self.default = default
        self.cache: dict[K, asyncio.Future[V]] = {}
        self.waiting: list[K] = []

    async def load(self, key: K) -> V:
        if key not in self.cache:
            loop = asyncio.get_running_loop()
            self.cache[key] = loop.create_future()
            self.waiting.append(key)
            if len(self.waiting) == 1:
                loop.call_soon(lambda: asyncio.ensure_future(self._dispatch()))
        return await self.cache[key]

    async def _dispatch(self) -> None:
        keys, self.waiting = self.waiting, []
        try:
            found = await run_db(self.fetch, keys)
        except Exception as error:
            for key in keys:
                self.cache.pop(key).set_exception(error)
            return
        for key in keys:
            self.cache[key].set_result(found.get(key, self.default))


def _documents(ids: list[int]) -> dict[int, Document]:
    return {d.node_id: d for d in Document.select().where(Document.node.in_(ids))}


def _current_versions(ids: list[int]) -> dict[int, DocumentVersion]:
    newest = (
        DocumentVersion.select(DocumentVersion.document, fn.MAX(DocumentVersion.number).alias("n"))
        .where(DocumentVersion.document.in_(ids))
        .group_by(DocumentVersion.document)
    )
    latest = {row.document_id: getattr(row, "n") for row in newest}  # noqa: B009
    rows = DocumentVersion.select().where(DocumentVersion.document.in_(ids))
    return {v.document_id: v for v in rows if latest.get(v.document_id) == v.number}


def _tags(ids: list[int]) -> dict[int, list[Tag]]:
    found: dict[int, list[Tag]] = defaultdict(list)
    query = Tag.select(Tag, NodeTag.node).join(NodeTag).where(NodeTag.node.in_(ids))
    for tag in query.order_by(Tag.name).objects():
        found[getattr(tag, "node")].append(tag)  # noqa: B009 (the joined column)
    return found


def _types(ids: list[int]) -> dict[int, DocumentType]:
    return {t.id: t for t in DocumentType.select().where(DocumentType.id.in_(ids))}


def _fields(type_ids: list[int]) -> dict[int, list[CustomField]]:
    found: dict[int, list[CustomField]] = defaultdict(list)
    query = CustomField.select().where(CustomField.document_type.in_(type_ids))
    for field in query.order_by(CustomField.position):
        found[field.document_type_id].append(field)
    return found


def _values(ids: list[int]) -> dict[int, dict[int, CustomFieldValue]]:
    found: dict[int, dict[int, CustomFieldValue]] = defaultdict(dict)
    for value in CustomFieldValue.select().where(CustomFieldValue.document.in_(ids)):
        found[value.document_id][value.field_id] = value
    return found


def _processed(version_ids: list[int]) -> dict[int, int]:
    query = (
        Page.select(Page.version, fn.COUNT(Page.id).alias("n"))
        .where(Page.version.in_(version_ids) & Page.status.in_([Page.DONE, Page.FAILED]))
        .group_by(Page.version)
    )
    return {row.version_id: int(getattr(row, "n")) for row in query}  # noqa: B009


def _thumbnails(keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The first page of each version whose preview file exists, by (version id, preview
    path): one query for every version, then a look at each file (a page is rendered, and
    gets its previews, before it is read; until then there is no thumbnail)."""
    query = Page.select(Page.id, Page.version).where(
        Page.version.in_({version for version, _ in keys}) & (Page.number == 1)
    )
    first = {page.version_id: int(page.id) for page in query}
    return {
        (version, path): first[version]
        for version, path in keys
        if version in first and Path(path).is_file()
    }


LOADERS: dict[str, tuple[Callable[[list[Any]], dict[Any, Any]], Any]] = {
    "document": (_documents, None),
    "current_version": (_current_versions, None),
    "tags": (_tags, []),
    "document_type": (_types, None),
    "fields": (_fields, []),
    "values": (_values, {}),
    "processed": (_processed, 0),
    "thumbnail": (_thumbnails, None),
}


def loader(info: GraphQLResolveInfo, name: str) -> BatchLoader[Any, Any]:
    """The request's loader called ``name`` (see :data:`LOADERS`)."""
    loaders: dict[str, Any] = info.context.loaders
    if name not in loaders:
        fetch, default = LOADERS[name]
        loaders[name] = BatchLoader(fetch, default)
    found: BatchLoader[Any, Any] = loaders[name]
    return found


async def load(info: GraphQLResolveInfo, name: str, key: Any) -> Any:
    return await loader(info, name).load(key)


def prime(info: GraphQLResolveInfo, name: str, values: Iterable[tuple[Any, Any]]) -> None:
    """Put values already at hand into a loader, so it does not fetch them again."""
    batch = loader(info, name)
    loop = asyncio.get_running_loop()
    for key, value in values:
        if key not in batch.cache:
            future: asyncio.Future[Any] = loop.create_future()
            future.set_result(value)
            batch.cache[key] = future
