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
from operator import itemgetter, methodcaller
from typing import Any

from ariadne import ObjectType, QueryType
from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode
from graphql.language import SelectionSetNode
from peewee import fn

from archivist.core.db import database, run_db
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.models import Node, NodeTag, Page, Tag
from archivist.core.nodes import get_node
from archivist.core.permissions import owned_labels, readable_by, readable_sql
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
    wanted = {_normal(term) for term in hit.matched_terms}
    raw = page.words or "[]"
    # Searched for in the JSON unless a wanted word holds what JSON escapes (engines match
    # words of letters and digits: never so far); decoded whole in another layout.
    escaped = any('"' in word or "\\" in word or not word.isprintable() for word in wanted)
    parts = None if escaped else _compact_rows(raw)
    decoded: list[list[Any]] = json.loads(raw) if parts is None else []
    if parts is None:
        texts = [row[0] for row in decoded]
        found = _rows_holding(texts, wanted, "\x00")
    else:
        # The rows that may hold a wanted word, found in the JSON as it is (see
        # _rows_holding): JSON escapes only quotes, backslashes and control characters, none
        # of which a word has, and ``],["`` parts the rows.
        texts = []
        maybe = _rows_holding([raw], wanted, '],["', every=True)
        found = [index for index in maybe if _normal(_row_text(parts[index])) in wanted]
    if hit.phrase_only and found:
        # Words only a phrase matched count where it stands whole: every word's key then.
        texts = texts or _row_texts(parts or [], raw)
        keys = list(map(_normal, texts))
        whole = phrase_positions(list(map(_folded, keys)), hit.phrases)
        if whole is not None:
            only = {_normal(term) for term in hit.phrase_only}
            found = [index for index in found if index in whole or keys[index] not in only]
    return [
        dict(
            zip(
                _WORD_FIELDS,
                decoded[index] if parts is None else json.loads(f'["{parts[index]}]'),
                strict=True,
            )
        )
        for index in found
    ]


def _row_texts(parts: list[str], raw: str) -> list[str]:
    """Every row's text (see :func:`_row_text`), split off in C."""
    texts: list[str] = list(map(itemgetter(0), map(methodcaller("rpartition", '"'), parts)))
    if "\\" in raw:  # an escaped character in some text
        texts = [json.loads(f'"{text}"') if "\\" in text else text for text in texts]
    return texts


def _row_text(part: str) -> str:
    """The text of a row of :func:`_compact_rows`: up to its last quote (its numbers have
    none), decoded where JSON escaped something."""
    text = part.rpartition('"')[0]
    return json.loads(f'"{text}"') if "\\" in text else text


_WORD_FIELDS = ("text", "x0", "y0", "x1", "y1", "confidence")


def _compact_rows(raw: str) -> list[str] | None:
    """The rows of ``Page.words`` as :func:`archivist.core.pages.encode_words` writes them
    (compact JSON), each without its brackets and opening quote (``text",x0,y0,x1,y1,c``);
    None where that split could go wrong (then the caller decodes it all).

    Rows part at ``],["``. Inside a text a quote is escaped, so that sequence stands there
    only where a text ends in ``],[`` (its closing quote follows): ``],[",`` then, which a
    row boundary shows only before a text that starts with a comma. Other layouts (spaces
    after the commas) show ``], [`` between rows.
    """
    if not raw.startswith('[["') or not raw.endswith("]]") or '],[",' in raw or "], [" in raw:
        return None
    return raw[3:-2].split('],["')


def _rows_holding(
    texts: list[str], wanted: set[str], separator: str, every: bool = False
) -> list[int]:
    """The indexes of the ``texts`` whose :func:`_normal` form is one of ``wanted`` (with
    ``every``: of the parts of ``texts[0]`` between ``separator``s that may be, unchecked).

    Not a call per word: the words are case-folded together, and a regular expression of
    the wanted words finds the few that may be one (a word whose normal form is ``w`` holds
    ``w`` once case-folded: folding goes character by character and the edges only add to
    it); only those are checked word by word. ``separator`` must not hold a word character.
    """
    joined = separator.join(texts).casefold()
    if "" in wanted or (not every and joined.count(separator) != len(texts) - 1):
        # A word of nothing but punctuation (an engine never matches one), or a text that
        # holds the separator: word by word.
        if every:
            return list(range(joined.count(separator) + 1))
        return [index for index, text in enumerate(texts) if _normal(text) in wanted]
    pattern = _any_of(frozenset(wanted))
    candidates: list[int] = []
    row, at = 0, 0
    for match in pattern.finditer(joined):  # in order: count the separators passed since
        row += joined.count(separator, at, match.start())
        at = match.start()
        if not candidates or candidates[-1] != row:
            candidates.append(row)
    if every:
        return candidates
    return [index for index in candidates if _normal(texts[index]) in wanted]


@lru_cache(maxsize=1_000)
def _any_of(words: frozenset[str]) -> re.Pattern[str]:
    # Plain alternatives: word boundaries or look-behinds (which JSON escapes would need)
    # make the expression four to ten times slower than checking the few extra candidates.
    return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))


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


def _hit_rows(
    viewer: Viewer, hits: list[PageHit]
) -> tuple[dict[tuple[int, int], Node], dict[tuple[int, int], Page]]:
    """The hits' documents that ``viewer`` may read, by (document, version), and exactly the
    hits' pages of those, by (version, number).

    Two queries written out (the clause of who may read what from the access module, see
    :func:`archivist.core.permissions.readable_sql`): every search runs them, and composing
    them costs Peewee more than the database takes to answer. Pages are asked for a version
    at a time: each row carries the page text and word boxes (kilobytes), so a superset such
    as versions x numbers would load up to the hits squared.
    """
    if not hits:
        return {}, {}
    left, right = database.obj.quote
    param = database.obj.param

    def quoted(*names: str) -> str:
        return ".".join(f"{left}{name}{right}" for name in names)

    def marks(count: int) -> str:
        return ", ".join([param] * count)

    clause, clause_params = readable_sql(viewer)
    document_ids = sorted({hit.document_id for hit in hits})
    readable = Node.raw(
        f"SELECT * FROM {quoted('node')} AS {quoted('t1')}"
        f" WHERE {quoted('t1', 'id')} IN ({marks(len(document_ids))}) AND ({clause})",
        *document_ids, *clause_params,
    )  # fmt: skip
    by_id = {node.id: node for node in readable}
    numbers: dict[int, set[int]] = {}
    for hit in hits:
        if hit.document_id in by_id:
            numbers.setdefault(hit.version_id, set()).add(hit.page_number)
    if not numbers:
        return {}, {}
    wanted: list[int] = []
    pairs = []
    version_column, number_column = quoted("p", "version_id"), quoted("p", "number")
    for version, found in sorted(numbers.items()):
        pairs.append(f"({version_column} = {param} AND {number_column} IN ({marks(len(found))}))")
        wanted += [version, *sorted(found)]
    # The version must be of a readable document (not another document's that took an id
    # an old SQLite database gave back): its document id comes along, and must be the hit's.
    rows = Page.raw(
        f"SELECT {quoted('p')}.*, {quoted('v', 'document_id')} AS archivist_document_id"
        f" FROM {quoted('page')} AS {quoted('p')}"
        f" JOIN {quoted('document_version')} AS {quoted('v')}"
        f" ON {quoted('v', 'id')} = {version_column}"
        f" WHERE {quoted('v', 'document_id')} IN ({marks(len(by_id))}) AND ({' OR '.join(pairs)})",
        *sorted(by_id), *wanted,
    )  # fmt: skip
    nodes: dict[tuple[int, int], Node] = {}
    pages: dict[tuple[int, int], Page] = {}
    for page in rows:
        document_id = page.archivist_document_id
        nodes[(document_id, page.version_id)] = by_id[document_id]
        pages[(page.version_id, page.number)] = page
    return nodes, pages


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
    nodes, pages = _hit_rows(viewer, hits)
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
