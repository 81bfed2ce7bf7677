"""Per-request batch loaders: a list of N nodes costs the same number of queries as one.

Resolvers ask a loader for one key; the loader collects every key asked for in the same turn
of the event loop and fetches them with one query (in a worker thread), then caches them for
the rest of the request.

A listing does better still: it reads what its rows' selected fields need in the same worker
thread call as the rows (:func:`fetch_for_rows`) and primes the loaders with it, and the
resolvers then answer at once through :func:`then_in`, without a coroutine or a task per field
(a page of 100 documents resolves thousands of fields). Rows that only feed a field's value
are read as tuples, without building a model object each.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)
from peewee import fn

from archivist.core.db import run_db, select_in
from archivist.core.models import (
    CustomField,
    CustomFieldValue,
    Document,
    DocumentType,
    DocumentVersion,
    Node,
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


class TagRow(NamedTuple):
    """A tag as a listing shows it (the ``Tag`` type's fields)."""

    id: int
    name: str
    color: str


class FieldValue(NamedTuple):
    """A custom field's stored value, what :func:`archivist.core.doctypes.format_value`
    reads of a ``CustomFieldValue``."""

    value_text: str | None
    value_number: Decimal | None
    value_date: date | None
    value_bool: bool | None


def _documents(ids: list[int]) -> dict[int, Document]:
    return {d.node_id: d for d in select_in(_documents_query, ids)}


def _documents_query(ids: list[int]) -> Any:
    return Document.select().where(Document.node.in_(ids))


def _current_versions(ids: list[int]) -> dict[int, DocumentVersion]:
    """The newest version of each document (one query: a document has few versions)."""
    found: dict[int, DocumentVersion] = {}
    for version in select_in(_versions_query, ids):
        newest = found.get(version.document_id)
        if newest is None or version.number > newest.number:
            found[version.document_id] = version
    return found


def _versions_query(ids: list[int]) -> Any:
    return DocumentVersion.select().where(DocumentVersion.document.in_(ids))


def _tags(ids: list[int]) -> dict[int, list[TagRow]]:
    found: dict[int, list[TagRow]] = defaultdict(list)
    rows = cast(Iterable[tuple[int, str, str, int]], select_in(_tags_query, ids).tuples())
    for tag_id, name, color, node_id in rows:
        found[node_id].append(TagRow(tag_id, name, color))
    return found


def _tags_query(ids: list[int]) -> Any:
    return (
        Tag.select(Tag.id, Tag.name, Tag.color, NodeTag.node)
        .join(NodeTag)
        .where(NodeTag.node.in_(ids))
        .order_by(Tag.name, Tag.id)
    )


def _types(ids: list[int]) -> dict[int, DocumentType]:
    return {t.id: t for t in select_in(_types_query, ids)}


def _types_query(ids: list[int]) -> Any:
    return DocumentType.select().where(DocumentType.id.in_(ids))


def _fields(type_ids: list[int]) -> dict[int, list[CustomField]]:
    found: dict[int, list[CustomField]] = defaultdict(list)
    for field in select_in(_fields_query, type_ids):
        found[field.document_type_id].append(field)
    return found


def _fields_query(type_ids: list[int]) -> Any:
    return (
        CustomField.select()
        .where(CustomField.document_type.in_(type_ids))
        .order_by(CustomField.position)
    )


def _values(ids: list[int]) -> dict[int, dict[int, FieldValue]]:
    found: dict[int, dict[int, FieldValue]] = defaultdict(dict)
    rows = cast(Iterable[tuple[Any, ...]], select_in(_values_query, ids).tuples())
    for document_id, field_id, *value in rows:
        found[document_id][field_id] = FieldValue(*value)
    return found


def _values_query(ids: list[int]) -> Any:
    return CustomFieldValue.select(
        CustomFieldValue.document, CustomFieldValue.field, CustomFieldValue.value_text,
        CustomFieldValue.value_number, CustomFieldValue.value_date, CustomFieldValue.value_bool,
    ).where(CustomFieldValue.document.in_(ids))  # fmt: skip


def _processed(version_ids: list[int]) -> dict[int, int]:
    rows = cast(Iterable[tuple[int, int]], select_in(_processed_query, version_ids).tuples())
    return {version_id: int(count) for version_id, count in rows}


def _processed_query(version_ids: list[int]) -> Any:
    return (
        Page.select(Page.version, fn.COUNT(Page.id).alias("n"))
        .where(Page.version.in_(version_ids) & Page.status.in_([Page.DONE, Page.FAILED]))
        .group_by(Page.version)
    )


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
    return context_loader(info.context, name)


def context_loader(context: Any, name: str) -> BatchLoader[Any, Any]:
    """The loader called ``name`` of the request whose context this is."""
    loaders: dict[str, Any] = context.loaders
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


def then_in(context: Any, name: str, key: Any, use: Callable[[Any], Any]) -> Any:
    """``use`` of the value loader ``name`` of the request whose context this is holds for
    ``key``: at once when the request has it already (primed by a listing, or loaded before),
    else an awaitable of it (graphql-core awaits what a resolver returns). ``use`` may itself
    return an awaitable. Needs no resolve info: a
    :class:`~archivist.graphql.plain_fields.ContextResolver` calls it."""
    batch = context_loader(context, name)
    future = batch.cache.get(key)
    done = future is not None and future.done() and not future.cancelled()
    if done and future is not None and future.exception() is None:
        return use(future.result())

    async def later() -> Any:
        found = use(await batch.load(key))
        return await found if inspect.isawaitable(found) else found

    return later()


_DOCUMENT_ROW_FIELDS = (
    "status", "error", "originalName", "originalType", "originalSize", "ocrLanguages",
    "ocrMode", "ocrEngine",
)  # fmt: skip
# Which loaders the fields of a listed folder or document use (a field of another type with
# one of these names only costs a query that is not needed).
FIELD_LOADERS: dict[str, tuple[str, ...]] = {
    "tags": ("tags",),
    **dict.fromkeys(_DOCUMENT_ROW_FIELDS, ("document",)),
    "documentType": ("document", "document_type"),
    "fields": ("document", "fields"),
    "customFields": ("document", "fields", "values"),
    **dict.fromkeys(
        ("pageCount", "currentVersion", "downloadUrl", "thumbnailUrl"), ("current_version",)
    ),
    "pagesProcessed": ("current_version", "processed"),
}


def selected_names(info: GraphQLResolveInfo) -> set[str]:
    """The names of every field selected below this one, at any depth, through fragments."""
    names: set[str] = set()
    spread: set[str] = set()

    def walk(selection_set: SelectionSetNode | None) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
                walk(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = info.fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in spread:
                    spread.add(fragment.name.value)
                    walk(fragment.selection_set)

    for field_node in info.field_nodes:
        walk(field_node.selection_set)
    return names


def wanted_loaders(info: GraphQLResolveInfo) -> frozenset[str]:
    """The loaders the rows of the listing this field answers will ask."""
    return frozenset(
        name for field in selected_names(info) for name in FIELD_LOADERS.get(field, ())
    )


def fetch_for_rows(nodes: Sequence[Node], wanted: frozenset[str]) -> dict[str, dict[Any, Any]]:
    """What the ``wanted`` loaders would fetch for ``nodes`` (run it in the database thread
    with the query that found them), every key present (the default for none found)."""
    found: dict[str, dict[Any, Any]] = {}

    def keep(name: str, keys: Iterable[Any], values: dict[Any, Any]) -> None:
        default = LOADERS[name][1]
        found[name] = {key: values.get(key, default) for key in keys}

    documents = [int(node.id) for node in nodes if node.kind == Node.DOCUMENT]
    if "tags" in wanted:
        ids = [int(node.id) for node in nodes]
        keep("tags", ids, _tags(ids) if ids else {})
    if not documents:
        return found
    if wanted & {"document", "document_type", "fields", "values"}:
        rows = _documents(documents)
        keep("document", documents, rows)
        types = sorted({row.document_type_id for row in rows.values() if row.document_type_id})
        if "document_type" in wanted:
            keep("document_type", types, _types(types) if types else {})
        if "fields" in wanted:
            keep("fields", types, _fields(types) if types else {})
    if "values" in wanted:
        keep("values", documents, _values(documents))
    if wanted & {"current_version", "processed"}:
        versions = _current_versions(documents)
        keep("current_version", documents, versions)
        if "processed" in wanted:
            ids = [int(version.id) for version in versions.values()]
            keep("processed", ids, _processed(ids) if ids else {})
    return found


def prime_all(info: GraphQLResolveInfo, found: dict[str, dict[Any, Any]]) -> None:
    """:func:`prime` each loader with what :func:`fetch_for_rows` found."""
    for name, values in found.items():
        prime(info, name, values.items())
