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
from ariadne import EnumType, ObjectType, QueryType, make_executable_schema
from ariadne.resolvers import resolve_to
from graphql import Executor, GraphQLObjectType, execute, parse

from archivist.graphql.handlers import ArchivistExecutionContext
from archivist.graphql.plain_fields import PlainResolver, SourceResolver, mark_plain_fields
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
type Query { items: [Item]! item: Item one: Box }
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


def _run(schema: Any, executor: type[Executor], document: str) -> Any:
    async def run() -> Any:
        result = execute(schema, parse(document), variable_values={"s": True},
                         executor_class=executor)  # fmt: skip
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
