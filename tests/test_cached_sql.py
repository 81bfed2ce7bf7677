"""Queries whose SQL is composed once (archivist.core.db: select_in, select_cached) answer as
the Peewee queries they stand for, on every database, whatever values they are run with."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from archivist.core.db import database, select_cached, select_in
from archivist.core.models import (
    CustomField,
    CustomFieldValue,
    Document,
    DocumentType,
    DocumentVersion,
    Node,
    NodeTag,
    Tag,
)
from archivist.core.settings import Settings
from archivist.graphql import loaders


def _archive(make_user: Any) -> tuple[list[int], list[int]]:
    """Three users' documents with tags, a type and values of every kind; (nodes, types)."""
    users = [make_user(name) for name in ("alice", "bob", "carol")]
    with database.connection_context():
        nodes, types = [], []
        for user in users:
            home = Node.get((Node.owner_user == user.id) & (Node.special == Node.HOME))
            kind = DocumentType.create(name=f"Bill {user.id}", owner_user=user.id)
            types.append(kind.id)
            fields = [
                CustomField.create(document_type=kind, name=name, kind=k, position=i)
                for i, (name, k) in enumerate((("total", "MONETARY"), ("due", "DATE"),
                                               ("paid", "BOOLEAN"), ("note", "TEXT")))
            ]  # fmt: skip
            tags = [Tag.create(name=f"t{n}", owner_user=user.id) for n in range(3)]
            for n in range(4):
                node = Node.create(kind=Node.DOCUMENT, title=f"doc {n}", parent=home,
                                   owner_user=user.id)  # fmt: skip
                Document.create(node=node, original_hash=f"{node.id:064x}", original_name="x.pdf",
                                original_type="application/pdf", original_size=1,
                                ocr_languages="en", ocr_mode="auto", ocr_engine="easyocr",
                                status=Document.READY, document_type=kind)  # fmt: skip
                for number in range(1, n % 2 + 2):
                    DocumentVersion.create(document=node, number=number, page_count=n + 1,
                                           file_hash=f"{node.id}-{number}".rjust(64, "0"),
                                           base_hash=f"{node.id}".rjust(64, "0"))  # fmt: skip
                nodes.append(node.id)
                for tag in tags[: n % 3 + 1]:
                    NodeTag.create(node=node, tag=tag)
                CustomFieldValue.create(document=node.id, field=fields[0],
                                        value_number=Decimal("12.50") + n)  # fmt: skip
                CustomFieldValue.create(document=node.id, field=fields[1],
                                        value_date=date(2024, 1, n + 1))  # fmt: skip
                CustomFieldValue.create(document=node.id, field=fields[2], value_bool=n % 2 == 0)
                CustomFieldValue.create(document=node.id, field=fields[3], value_text=f"n{n}")
    return nodes, types


BUILDERS = [
    (loaders._documents_query, "nodes"),
    (loaders._versions_query, "nodes"),
    (loaders._tags_query, "nodes"),
    (loaders._values_query, "nodes"),
    (loaders._types_query, "types"),
    (loaders._fields_query, "types"),
]


def _rows(query: Any) -> list[tuple[Any, ...]]:
    return sorted(map(tuple, query.tuples()), key=repr)


@pytest.mark.parametrize(("build", "ids_of"), BUILDERS, ids=lambda b: getattr(b, "__name__", b))
def test_select_in_answers_as_its_query(
    settings: Settings, make_user: Any, build: Any, ids_of: str
) -> None:
    nodes, types = _archive(make_user)
    ids = nodes if ids_of == "nodes" else types
    with database.connection_context():
        for chosen in (ids, ids[:1], ids[::2], ids[1::3], ids[:3], [ids[-1], ids[0], ids[2]]):
            # The SQL of a count is kept: the second and third run take it with other ids.
            assert _rows(select_in(build, chosen)) == _rows(build(chosen))
        models = list(select_in(build, ids))
        assert [type(row) for row in models] == [build(ids).model] * len(models)
    if build is loaders._values_query:  # the values come back converted, as Peewee's would
        with database.connection_context():
            values = _rows(select_in(build, nodes))
        assert {type(row[3]) for row in values if row[3] is not None} <= {Decimal}
        assert {type(row[4]) for row in values if row[4] is not None} == {date}


def test_select_in_refuses_a_query_that_uses_its_ids_otherwise(settings: Settings) -> None:
    def twice(ids: list[int]) -> Any:
        return Node.select().where(Node.id.in_(ids) | Node.parent.in_(ids))

    with database.connection_context(), pytest.raises(ValueError, match="each id once"):
        select_in(twice, [1, 2])


def test_select_cached_keeps_sql_per_key_and_takes_the_typed_text(
    settings: Settings, make_user: Any
) -> None:
    _archive(make_user)

    def named(typed: str, owner: int) -> Any:
        return Tag.select().where(Tag.name.startswith(typed) & (Tag.owner_user == owner))

    with database.connection_context():
        owners = sorted({tag.owner_user_id for tag in Tag.select()})
        for owner in owners:
            for typed in ("t", "t1", "t2", "x", "T", "t%", "t_", ""):
                found = sorted(tag.id for tag in select_cached(named, typed, owner))
                assert found == sorted(tag.id for tag in named(typed, owner)), (typed, owner)
        assert len(select_cached(named, "t", owners[0])) == 3
        assert select_cached(named, "t_", owners[0]) == []  # "_" is no wildcard here
