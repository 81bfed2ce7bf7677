"""``search``: page hits from the index, with snippets and the boxes of the matched words.

The index filters by the viewer's reader terms inside the engine query, so totals, pages
and facets are right for each viewer; here the hits get their documents and boxes, and the
access module has the last word: a hit on a document the viewer cannot read today is dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from functools import lru_cache
from typing import Any

from ariadne import ObjectType, QueryType
from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode
from graphql.language import SelectionSetNode
from peewee import NodeList, fn

from archivist.core.db import run_db
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.models import DocumentVersion, Node, NodeTag, Page, Tag
from archivist.core.nodes import get_node
from archivist.core.permissions import owned_labels, readable_by
from archivist.core.search import search_index
from archivist.core.settings import Settings
from archivist.core.suggestions import facet_types
from archivist.core.users import Viewer
from archivist.graphql.connections import encode_cursor, position_window
from archivist.graphql.context import Context, require_viewer
from archivist.graphql.discovery import suggested_query
from archivist.indexes import IndexUnavailable, PageHit, QueryError, SearchOrder, SearchResults
from archivist.indexes.analysis import fold, normalize
from archivist.indexes.highlight import phrase_positions

logger = logging.getLogger("archivist.graphql")

query = QueryType()
hit_type = ObjectType("SearchHit")

WORD_EDGES = re.compile(r"^\W+|\W+$")


@lru_cache(maxsize=100_000)
def _normal(text: str) -> str:
    return WORD_EDGES.sub("", text).casefold()


def _highlights(pages: dict[tuple[int, int], Page], hit: PageHit) -> list[dict[str, Any]]:
    """The boxes of the page's words that the hit matched (``Word`` fields as a dict).

    Reads ``Page.words`` (see :func:`archivist.core.pages.decode_words`) as plain rows and
    builds only the matched ones: a page holds hundreds of words, a hit marks a few. Words
    that only a phrase matched are marked where the phrase stands whole ("of the" marks
    that pair, not every "of" and "the" on the page), unless no phrase of theirs stands
    whole in the boxes (OCR cut them otherwise): then each is marked.
    """
    page = pages.get((hit.version_id, hit.page_number))
    if page is None or not hit.matched_terms:
        return []
    only = {_normal(term) for term in hit.phrase_only}
    wanted = {_normal(term) for term in hit.matched_terms}
    rows = json.loads(page.words or "[]")
    keys = [_normal(row[0]) for row in rows]
    whole = phrase_positions([_folded(key) for key in keys], hit.phrases) if only else None
    return [
        {"text": text, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "confidence": confidence}
        for index, (text, x0, y0, x1, y1, confidence) in enumerate(rows)
        if keys[index] in wanted and (whole is None or keys[index] not in only or index in whole)
    ]


@lru_cache(maxsize=100_000)
def _folded(key: str) -> str:
    return fold(normalize(key))


def _folder(viewer: Viewer, folder_id: str | None) -> int | None:
    """The id of the folder a search is scoped to (None: everywhere); a folder the viewer
    cannot see, or a document, is NOT_FOUND."""
    if folder_id is None:
        return None
    try:
        node = get_node(viewer, folder_id)
    except NotFound:
        raise NotFound("folder", "folderId") from None
    if node.kind != Node.FOLDER or node.deleted_at is not None:
        raise NotFound("folder", "folderId")
    return int(node.id)


def _order(order_by: dict[str, Any] | None) -> SearchOrder:
    """The GraphQL ``SearchOrder`` input as the index takes it. Without a direction, titles
    go A to Z and dates newest first."""
    by = str((order_by or {}).get("by") or "RELEVANCE").lower()
    direction = (order_by or {}).get("direction")
    descending = direction == "DESC" if direction else by in ("created", "modified")
    return SearchOrder(by, descending)


def _facet_tags(viewer: Viewer, names: list[str]) -> dict[str, Tag]:
    """The tag objects of facet names, each one that matching documents carry: the viewer's
    own of that name, else a group's of theirs, else another's on a document the viewer may
    read (a shared document's owner's). Tags are per owner and the index holds names, so
    several owners' tags of one name count together, as ``tag:"<name>"`` finds them."""
    if not names:
        return {}
    # EXISTS, not a join: one row per tag, not one per tagged document (tens of thousands
    # for a common tag in a large archive).
    on_readable = fn.EXISTS(
        NodeTag.select(NodeTag.id).join(Node).where((NodeTag.tag == Tag.id) & readable_by(viewer))
    )
    found: dict[str, Tag] = {}
    mine = Tag.select().where(owned_labels(viewer, Tag) & Tag.name.in_(names) & on_readable)
    for tag in sorted(mine, key=lambda tag: (tag.owner_user_id is None, tag.id)):
        found.setdefault(tag.name, tag)
    missing = [name for name in names if name not in found]
    if missing:
        others = Tag.select().where(Tag.name.in_(missing) & on_readable).order_by(Tag.id)
        for tag in others:
            found.setdefault(tag.name, tag)
    return found


# The extra facets (see archivist.indexes.base.EXTRA_FACETS) by their SearchFacets field: each
# costs the engine a little on every match, so it is counted only when the request asks.
_FACET_FIELDS = {"documentTypes": "type", "years": "year"}


def _asked_facets(info: GraphQLResolveInfo) -> tuple[bool, tuple[str, ...]]:
    """Whether the request selects the tag facets (``facets { tags }`` or ``tagFacets``),
    and the extra facets it selects under ``facets`` (through fragments too). Any facet
    makes the engine count every match (and so the total exact)."""
    tags = False
    asked: set[str] = set()

    def fields(selections: SelectionSetNode | None, seen: frozenset[str]) -> list[FieldNode]:
        found: list[FieldNode] = []
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found += fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = info.fragments.get(name)
                if fragment is not None and name not in seen:
                    found += fields(fragment.selection_set, seen | {name})
        return found

    for node in info.field_nodes:
        for field in fields(node.selection_set, frozenset()):
            if field.name.value == "tagFacets":
                tags = True
            elif field.name.value == "facets":
                inner = {item.name.value for item in fields(field.selection_set, frozenset())}
                tags = tags or "tags" in inner
                asked |= {_FACET_FIELDS[name] for name in inner if name in _FACET_FIELDS}
    return tags, tuple(sorted(asked))


def _run_search(
    settings: Settings, viewer: Viewer, text: str, limit: int, offset: int, grouped: bool,
    folder_id: str | None = None, order: SearchOrder | None = None,
    facets: tuple[bool, tuple[str, ...]] = (True, ()),
) -> tuple[
    SearchResults, dict[tuple[int, int], Node], dict[tuple[int, int], Page], dict[str, Tag],
    int | None,
]:  # fmt: skip
    """Run the search in this thread's index handle and load what the hits point at.

    Returns the results, the hit documents by (document, version), the hit pages by
    (version, number), the facets' tags by name and the folder scope. Only documents the
    viewer may read today are loaded: the index's reader terms can be behind the database (a
    document given away; an entry that outlived its document while an old SQLite database
    gave the id to another one, whose versions then are not the entry's). A hit without its
    document here is dropped by the caller.
    """
    scope = _folder(viewer, folder_id)
    try:
        results = search_index(settings).search(
            text, principals=viewer.principals, limit=limit, offset=offset,
            group_by_document=grouped, folder_id=scope, order=order or SearchOrder(),
            facets=facets[1], tag_facets=facets[0], exact_up_to=settings.search_exact_count,
        )  # fmt: skip
    except QueryError as error:
        raise UserFacingError("INVALID_QUERY", str(error), "query") from None
    except IndexUnavailable as error:
        logger.warning("%s", error)
        raise UserFacingError(
            "SEARCH_UNAVAILABLE", "The search index cannot be reached; try again in a moment."
        ) from None
    hits = [hit for top in results.hits for hit in (top.pages or [top])]
    readable = Node.select().where(
        Node.id.in_({hit.document_id for hit in hits} or {0}) & readable_by(viewer)
    )
    by_id = {node.id: node for node in readable}
    versions = DocumentVersion.select(DocumentVersion.id, DocumentVersion.document).where(
        DocumentVersion.id.in_({hit.version_id for hit in hits} or {0})
        & DocumentVersion.document.in_(set(by_id) or {0})
    )
    nodes = {(version.document_id, version.id): by_id[version.document_id] for version in versions}
    readable_versions = {version for _, version in nodes}
    numbers: dict[int, set[int]] = {}
    for hit in hits:
        if hit.version_id in readable_versions:
            numbers.setdefault(hit.version_id, set()).add(hit.page_number)
    # One query for exactly the hits' pages, a version at a time: each row carries the page
    # text and word boxes (kilobytes), so a superset such as versions x numbers would load up
    # to the hits squared. The ORs are one flat list: nested two by two, a hundred of them
    # overflow SQLite's parser stack.
    pages: dict[tuple[int, int], Page] = {}
    if numbers:
        exact = NodeList(
            [
                (Page.version == version) & Page.number.in_(sorted(wanted))
                for version, wanted in sorted(numbers.items())
            ],
            glue=" OR ",
            parens=True,
        )
        pages = {(p.version_id, p.number): p for p in Page.select().where(exact)}
    return results, nodes, pages, _facet_tags(viewer, list(results.tag_facets)), scope


@query.field("search")
async def resolve_search(
    _: Any,
    info: GraphQLResolveInfo,
    query: str,
    group_by: str = "PAGE",
    folder_id: str | None = None,
    order_by: dict[str, Any] | None = None,
    **arguments: Any,
) -> dict[str, Any]:
    context: Context = info.context
    viewer = require_viewer(info)
    # A cursor is a position in one query's ranking (the engine ranks; see the README), so it
    # names the query, scope and order it came from.
    asked = json.dumps([query, folder_id, order_by], sort_keys=True, default=str)
    listing = f"search:{group_by}:{hashlib.sha256(asked.encode()).hexdigest()[:16]}"
    offset, limit = position_window("Query", "search", listing, **arguments)
    asked_facets = _asked_facets(info)
    results, nodes, pages, tags, scope = await run_db(
        _run_search, context.settings, viewer, query, max(limit, 1), offset,
        group_by == "DOCUMENT", folder_id, _order(order_by), asked_facets,
    )  # fmt: skip

    def as_hit(hit: PageHit) -> dict[str, Any] | None:
        node = nodes.get((hit.document_id, hit.version_id))
        page = pages.get((hit.version_id, hit.page_number))
        if node is None or page is None:  # gone since indexed, or not the viewer's today
            return None
        return {
            "document": node,
            "page": page,
            "page_number": hit.page_number,
            "score": hit.score,
            "snippet": hit.snippet,
            "highlights": _highlights(pages, hit),
            "pages": [p for p in (as_hit(page) for page in hit.pages) if p is not None],
        }

    hits = results.hits[:limit]  # the engine is asked for one at least (first: 0 counts)
    # A hit whose document was deleted since it was indexed, or that the viewer may no
    # longer read, is left out (and not counted); cursors keep the positions the index
    # gave, so the next page starts where this one ended.
    edges = [
        {"cursor": encode_cursor(listing, (offset + index,)), "node": node}
        for index, hit in enumerate(hits)
        if (node := as_hit(hit)) is not None
    ]
    total = max(results.total - (len(hits) - len(edges)), len(edges))
    facets = results.tag_facets if total else {}  # only left-out entries' tags: none

    async def suggest(*_: Any, **__: Any) -> str | None:
        # Asked for only when the client selects it; only a search that found nothing.
        if results.total:
            return None
        return await run_db(suggested_query, context.settings, viewer, query, scope)

    async def document_types(*_: Any, **__: Any) -> list[dict[str, Any]]:
        counted = results.type_facets if total else {}
        found = await run_db(facet_types, viewer, list(counted))
        return [
            {"document_type": found[name], "count": count}
            for name, count in counted.items()
            if name in found  # a type deleted since the page was indexed is left out
        ]

    return {
        "total_count": total,
        "total_count_is_exact": results.total_exact,
        "edges": edges,
        "page_info": {
            "has_previous_page": offset > 0,
            "has_next_page": offset + len(hits) < results.total,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
        "tag_facets": [
            {"tag": tag, "count": count}
            for tag, count in sorted(facets.items(), key=lambda item: -item[1])
        ],
        "facets": {
            "tags": [
                {"tag": tags[name], "count": count}
                for name, count in sorted(facets.items(), key=lambda item: -item[1])
                if name in tags  # a tag deleted since the page was indexed is left out
            ],
            "document_types": document_types,
            "years": [
                {"year": year, "count": count}
                for year, count in (results.year_facets if total else {}).items()
            ],
        },
        "suggested_query": suggest,
    }


bindables = [query, hit_type]
