"""Plain fields (archivist.graphql.plain_fields) answer exactly as graphql-core's executor does.

The same documents run on the same schema twice, once with graphql-core's own executor and
once with ours, and the results (data and errors, with their paths and order) must be equal:
for plain values, and for every case the fast way hands back to graphql-core (a missing value
in a non-null field, a value its type cannot serialize, a callable, an awaitable, an
exception, arguments, aliases, fragments, @skip/@include).
"""

from __future__ import annotations

import asyncio
import json
from enum import Enum
from typing import Any

import pytest
from ariadne import (
    EnumType,
    InterfaceType,
    ObjectType,
    QueryType,
    ScalarType,
    make_executable_schema,
)
from ariadne.resolvers import resolve_to
from graphql import Executor, GraphQLObjectType, execute, parse

from archivist.graphql.handlers import ArchivistExecutionContext
from archivist.graphql.plain_fields import (
    ContextResolver,
    PlainResolver,
    SourceResolver,
    SourceTypeResolver,
    mark_plain_fields,
)
from archivist.graphql.schema import build_schema

SDL = """
enum Color { RED GREEN }
type Box { text: String! x0: Float! y0: Float confidence: Float! color: Color count: Int! }
type Item {
  id: ID!
  title: String!
  pageCount: Int
  boxes: [Box]!
  maybeBoxes: [Box]
  label(prefix: String): String
  shout: String
  ident: ID!
  computed: String
  later: String
  failing: String!
  nested: Item
}
type Query {
  items: [Item]!
  item: Item
  one: Box
  things: [Thing]!
  strictThings: [Thing!]
  tray: Tray
}
interface Thing { id: ID! name: String }
type Pen implements Thing { id: ID! name: String ink: String! }
type Cup implements Thing { id: ID! name: String size: Int boxes: [Box!]! }
type Tray {
  counts: [Int!]
  maybeCounts: [Int]
  grid: [[Box]]
  strictBox: Box!
  lost: Box!
  single: Box
  fromContext: String
  laterBox: Box
  pens: [Pen!]!
  notAList: [Int]
  failing: Box
  things: [Thing]!
  odds: [Odd]
  laterBoxes: [Box]
}
scalar Odd
"""


class Shade(Enum):
    RED = "RED"
    GREEN = "GREEN"


class Row:
    """An object read by attribute (as resolvers hand Peewee models over)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class _later:
    """An awaitable value (not callable): nothing warns when a query does not ask for it."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __await__(self) -> Any:
        yield from asyncio.sleep(0).__await__()
        return self.value


def _items() -> list[Any]:
    def box(index: int, **extra: Any) -> dict[str, Any]:
        found = {"text": f"w{index}", "x0": index * 1.5, "y0": index, "confidence": 0.9,
                 "color": Shade.RED, "count": index}  # fmt: skip
        found.update(extra)
        return found

    return [
        {"id": 1, "title": "plain", "page_count": 3, "boxes": [box(1), box(2)], "shout": "not read",
         "maybe_boxes": [box(3), None], "computed": lambda info: f"called {info.field_name}",
         "later": _later("awaited"), "failing": "fine", "nested": {"id": 9, "title": "inner"}},
        Row(id=2, title="attributes", page_count=None, boxes=[box(4, y0=None)],
            maybe_boxes=None, computed=None, later=None, failing="ok", nested=None),
        # A missing non-null value, a value Int cannot take, one Float cannot, an exception.
        {"id": 3, "title": None, "boxes": [], "failing": ValueError("no value"),
         "later": _later("also")},
        {"id": 4, "title": "count", "boxes": [box(6, count=2**40), box(7, text=None)]},
        {"id": 5, "title": "bool", "page_count": True, "boxes": [box(8, confidence=True)],
         "failing": "x"},
        {"id": 6, "title": "bad values", "page_count": "many", "boxes": [box(5, x0="wide")],
         "failing": ValueError("no value")},
    ]  # fmt: skip


def _schema() -> Any:
    query = QueryType()
    query.set_field("items", lambda *_: _items())
    query.set_field("item", lambda *_: _items()[0])
    query.set_field("one", lambda *_: {"text": None, "x0": 1, "confidence": 1, "count": 1})
    item = ObjectType("Item")

    def ident(obj: Any) -> str:
        row_id = obj["id"] if isinstance(obj, dict) else obj.id
        if row_id == 6:
            raise ValueError("no ident for 6")
        return f"I{row_id}" if row_id != 5 else None  # type: ignore[return-value]

    item.set_field("ident", SourceResolver(ident))  # a pure function of the object
    # A resolver of its own, though the dict has a key of the field's name: not plain.
    item.set_field("shout", lambda obj, *_: str(obj["title"]).upper())
    box = ObjectType("Box")
    for coordinate in ("x0", "y0"):  # as graphql/documents.py reads a word's coordinates
        box.set_field(coordinate, PlainResolver(coordinate))

    @item.field("label")
    def resolve_label(obj: Any, _info: Any, prefix: str = "") -> str:
        title = obj["title"] if isinstance(obj, dict) else obj.title
        return f"{prefix}{title}"

    schema = make_executable_schema(
        SDL, query, item, box, EnumType("Color", Shade), convert_names_case=True
    )
    return schema


def _things() -> list[Any]:
    return [
        {"kind": "Pen", "id": 1, "name": "blue", "ink": "blue"},
        Row(kind="Cup", id=2, name="mug", size=3, boxes=[{"text": "a", "x0": 1, "confidence": 1,
            "count": 1}]),
        {"kind": "Pen", "id": 3, "name": "empty", "ink": None},  # a missing non-null
        {"kind": "Plate", "id": 4, "name": "not a Thing"},  # a type name of no Thing
        {"kind": None, "id": 5},  # no type name at all
        {"kind": "Box", "id": 8, "text": "a Box, no Thing"},
        {"kind": "Cup", "id": 6, "boxes": [{"text": None, "x0": 1, "confidence": 1,
            "count": 1}]},  # a box's non-null text missing: the cup's boxes go null
    ]  # fmt: skip


def _tray() -> dict[str, Any]:
    box = {"text": "t", "x0": 2, "confidence": 0.5, "count": 7}
    return {
        "counts": (1, 2, 3),
        "maybe_counts": [1, "two", 3],
        "grid": [[box, None], [], None],
        "strict_box": box,
        "lost": None,
        "single": {"text": "s", "x0": "wide", "confidence": 1, "count": 1},
        "later_box": _later(box),
        "pens": [{"kind": "Pen", "id": 7, "ink": "red"}],
        "not_a_list": 5,
        "failing": ValueError("no box"),
        "things": _things(),
        "odds": [1, 3, 4],  # Odd serializes even numbers to None
        "later_boxes": [box, _later(box)],
    }


def _context_schema() -> Any:
    """Types completed as trees: an interface read by a SourceTypeResolver, fields read with
    the request's context, lists of leaves, lists of lists, awaitables, errors."""
    query = QueryType()
    query.set_field("things", lambda *_: _things())
    query.set_field("strictThings", lambda *_: [*_things()[:2], None])
    query.set_field("tray", lambda *_: _tray())
    thing = InterfaceType("Thing")
    thing.set_type_resolver(
        SourceTypeResolver(lambda value: value["kind"] if isinstance(value, dict) else value.kind)
    )
    tray = ObjectType("Tray")

    def from_context(parent: Any, context: Any) -> Any:
        if context["mood"] == "raise":
            raise ValueError("no mood")
        return f"{context['mood']} {len(parent['counts'])}"

    tray.set_field("fromContext", ContextResolver(from_context))
    tray.set_field("laterBox", ContextResolver(lambda parent, _context: parent["later_box"]))
    tray.set_field("failing", ContextResolver(lambda parent, _context: parent["failing"]))
    box = ObjectType("Box")
    box.set_field("x0", PlainResolver("x0"))
    odd = ScalarType("Odd", serializer=lambda value: value if value % 2 else None)
    return make_executable_schema(SDL, query, thing, tray, box, odd, convert_names_case=True)


TREE_QUERIES = [
    "{ things { __typename id name ... on Pen { ink } ... on Cup { size boxes { text x0 } } } }",
    "{ strictThings { id } }",
    "{ tray { counts maybeCounts grid { text count } strictBox { text } single { x0 } } }",
    "{ tray { lost { text } } }",
    "{ tray { fromContext laterBox { text x0 } pens { id ink } notAList failing { text } } }",
    "{ tray { pens { __typename ... on Thing { id } } } things { ... on Cup { id } } }",
    "{ tray { things { __typename id ... on Pen { ink } ... on Cup { boxes { text x0 } } } } }",
    "{ tray { odds } }",
    "{ tray { laterBoxes { text } } }",
]


@pytest.mark.parametrize("mood", ["calm", "raise"])
@pytest.mark.parametrize("document", TREE_QUERIES)
def test_trees_answer_as_graphql_core(document: str, mood: str) -> None:
    context = {"mood": mood}
    expected = _run(_context_schema(), Executor, document, context)
    schema = _context_schema()
    mark_plain_fields(schema)
    found = _run(schema, ArchivistExecutionContext, document, context)
    assert found == expected
    assert json.dumps(found["data"]) == json.dumps(expected["data"])


def test_the_tree_cases_do_fail_and_report() -> None:
    found = _run(_context_schema(), Executor, TREE_QUERIES[0])
    paths = {tuple(json.loads(e)["path"]) for e in found["errors"]}
    # Pen 3's ink is missing; Plate names no type, 5 none, Box one that is no Thing.
    assert {("things", 2, "ink"), ("things", 3), ("things", 4), ("things", 5)} <= paths
    assert ("things", 6, "boxes", 0, "text") in paths
    assert found["data"]["things"][1]["boxes"] == [{"text": "a", "x0": 1.0}]
    tray = _run(_context_schema(), Executor, TREE_QUERIES[2])
    assert ("tray", "maybeCounts", 1) in {tuple(json.loads(e)["path"]) for e in tray["errors"]}
    assert tray["data"]["tray"]["counts"] == [1, 2, 3]
    lost = _run(_context_schema(), Executor, TREE_QUERIES[3])
    assert lost["data"] == {"tray": None}  # the non-null box's null reaches the tray
    later = _run(_context_schema(), Executor, TREE_QUERIES[4], {"mood": "calm"})
    assert later["data"]["tray"]["laterBox"] == {"text": "t", "x0": 2.0}
    assert later["data"]["tray"]["fromContext"] == "calm 3"
    on_tray = _run(_context_schema(), Executor, TREE_QUERIES[6])
    paths = {tuple(json.loads(e)["path"]) for e in on_tray["errors"]}
    assert {("tray", "things", 3), ("tray", "things", 4), ("tray", "things", 5)} <= paths
    assert on_tray["data"]["tray"]["things"][0] == {"__typename": "Pen", "id": "1", "ink": "blue"}
    odds = _run(_context_schema(), Executor, TREE_QUERIES[7])
    assert odds["data"]["tray"]["odds"] == [1, 3, None]
    boxes = _run(_context_schema(), Executor, TREE_QUERIES[8])
    assert boxes["data"]["tray"]["laterBoxes"] == [{"text": "t"}, {"text": "t"}]


QUERIES = [
    "{ items { id title pageCount boxes { text x0 y0 confidence color count } } }",
    '{ items { id maybeBoxes { text x0 } computed later failing label(prefix: "> ") } }',
    "{ items { a: title b: title id ...F nested { id title } } } fragment F on Item { pageCount }",
    "query ($s: Boolean!) { items { id title @skip(if: $s) pageCount @include(if: $s) } }",
    "{ item { id title boxes { text } } one { text x0 } }",
    "{ item { shout title } }",
    "{ items { __typename ident title } }",
    "{ items { __typename id boxes { __typename x0 } } }",
]


def _run(schema: Any, executor: type[Executor], document: str, context: Any = None) -> Any:
    async def run() -> Any:
        result = execute(schema, parse(document), variable_values={"s": True},
                         context_value=context, executor_class=executor)  # fmt: skip
        if hasattr(result, "__await__"):
            result = await result
        return {
            "data": result.data,
            "errors": sorted(
                json.dumps({"message": e.message, "path": e.path}) for e in result.errors or []
            ),
        }

    return asyncio.run(run())


@pytest.mark.parametrize("document", QUERIES)
def test_plain_fields_answer_as_graphql_core(document: str) -> None:
    expected = _run(_schema(), Executor, document)
    schema = _schema()
    assert mark_plain_fields(schema) > 10
    found = _run(schema, ArchivistExecutionContext, document)
    assert found == expected
    # Field order is the query's, as graphql-core keeps it.
    assert json.dumps(found["data"]) == json.dumps(expected["data"])


def test_the_cases_handed_back_do_fail_and_report() -> None:
    """The documents above do reach the slow cases: errors with their paths, nulls, and
    values computed by callables and awaitables."""
    found = _run(_schema(), Executor, QUERIES[0])
    paths = {tuple(json.loads(e)["path"]) for e in found["errors"]}
    assert ("items", 2, "title") in paths  # a missing non-null
    assert ("items", 5, "pageCount") in paths  # "many" is no Int
    assert ("items", 3, "boxes", 0, "count") in paths  # 2**40 is beyond Int
    assert ("items", 3, "boxes", 1, "text") in paths
    assert ("items", 5, "boxes", 0, "x0") in paths  # "wide" is no Float
    assert found["data"]["items"][4]["pageCount"] == 1  # True serializes as 1
    assert found["data"]["items"][0]["boxes"][0]["x0"] == 1.5
    idents = _run(_schema(), Executor, "{ items { ident } }")
    assert {tuple(json.loads(e)["path"]) for e in idents["errors"]} == {
        ("items", 4, "ident"), ("items", 5, "ident"),  # None in a non-null field; it raised
    }  # fmt: skip
    second = _run(_schema(), Executor, QUERIES[1])
    assert ("items", 5, "failing") in {tuple(json.loads(e)["path"]) for e in second["errors"]}
    first = second["data"]["items"][0]
    assert (first["computed"], first["later"], first["label"]) == (
        "called computed",
        "awaited",
        "> plain",
    )


def test_the_real_schema_marks_its_plain_fields() -> None:
    schema = build_schema()
    marked = [
        (type_name, name, field.resolve)
        for type_name, named in schema.type_map.items()
        if not type_name.startswith("__")
        for name, field in (named.fields if isinstance(named, GraphQLObjectType) else {}).items()
        if isinstance(field.resolve, PlainResolver)
    ]
    assert len(marked) > 100
    assert {(t, n): r.attr for t, n, r in marked}[("SearchHit", "pageNumber")] == "page_number"
    assert {(t, n): r.attr for t, n, r in marked}[("Word", "x0")] == "x0"
    leftover = [
        (type_name, name)
        for type_name, named in schema.type_map.items()
        for name, field in (named.fields if isinstance(named, GraphQLObjectType) else {}).items()
        if getattr(field.resolve, "__qualname__", "") == resolve_to("x").__qualname__
    ]
    assert leftover == []
