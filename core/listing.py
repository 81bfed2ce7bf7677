"""Listing a folder's children: filtered, ordered, paged, in a fixed number of queries."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import reduce

from peewee import JOIN, Case, Field, fn

from archivist.core.doctypes import parse_value
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.models import (
    CustomField,
    CustomFieldValue,
    Document,
    DocumentType,
    Node,
    NodeTag,
)
from archivist.core.nodes import get_node, parse_id
from archivist.core.paging import Slice, Window, keyset_page
from archivist.core.permissions import can_read, owned_labels, readable_by
from archivist.core.users import Viewer

FIRST_PAGE = Window(100)
ORDER_FIELDS = ("title", "created", "updated", "kind", "type", "field")


@dataclass(frozen=True)
class ChildrenQuery:
    order_by: str = "title"
    descending: bool = False
    field_id: str | None = None  # with order_by "field"
    tag_ids: tuple[str, ...] = ()  # all of them
    kind: str | None = None  # folder or document
    document_type_id: str | None = None
    field_equals: tuple[str, str] | None = None  # (custom field id, value as text)
    window: Window = FIRST_PAGE


def _value_column(field: CustomField) -> Field:
    if field.kind in ("integer", "number", "monetary"):
        return CustomFieldValue.value_number
    if field.kind == "date":
        return CustomFieldValue.value_date
    if field.kind == "boolean":
        return CustomFieldValue.value_bool
    return CustomFieldValue.value_text


def visible_field(viewer: Viewer, field_id: str | int, where: str) -> CustomField:
    """A custom field the viewer knows: of one of their or their groups' types, or of the type of a
    document they may read. Any other id is answered exactly as one that does not exist, so
    the answer says nothing about other people's fields (their names, kinds or options).
    """
    own_types = DocumentType.select(DocumentType.id).where(owned_labels(viewer, DocumentType))
    seen_types = (
        Document.select(Document.document_type)
        .join(Node, on=(Document.node == Node.id))
        .where(Document.document_type.is_null(False) & readable_by(viewer))
    )
    try:
        number = parse_id(field_id, where, ("CustomField",))
    except UserFacingError:
        number = 0
    field = CustomField.get_or_none(
        (CustomField.id == number)
        & (CustomField.document_type.in_(own_types) | CustomField.document_type.in_(seen_types))
    )
    if field is None:
        raise UserFacingError("UNKNOWN_FIELD", "No such custom field.", where)
    return field


def children(viewer: Viewer, folder_id: str | int | Node, spec: ChildrenQuery) -> tuple[Slice, int]:
    """One page of the folder's live children and how many there are in all.

    ``folder_id`` may be the folder itself, already read: then the access module decides on
    it as it is, without reading it again. Raises NotFound when the viewer may not see it.
    """
    if isinstance(folder_id, Node):
        folder = folder_id
        if not can_read(viewer, folder):
            raise NotFound(field="id")
    else:
        folder = get_node(viewer, folder_id)
    query = Node.select(Node).where((Node.parent == folder.id) & Node.deleted_at.is_null())
    if spec.kind:
        query = query.where(Node.kind == spec.kind)
    for tag_id in spec.tag_ids:
        tagged = NodeTag.select(NodeTag.node).where(
            NodeTag.tag == parse_id(tag_id, "filter.tags", ("Tag",))
        )
        query = query.where(Node.id.in_(tagged))
    needs_document = spec.document_type_id is not None or spec.order_by == "type"
    if needs_document:
        query = query.join(Document, JOIN.LEFT_OUTER, on=(Document.node == Node.id))
    if spec.document_type_id is not None:
        type_id = parse_id(spec.document_type_id, "filter.documentType", ("DocumentType",))
        query = query.where(Document.document_type == type_id)
    if spec.field_equals is not None:
        field = visible_field(viewer, spec.field_equals[0], "filter.fieldValue")
        columns = parse_value(field, spec.field_equals[1], "filter.fieldValue")
        matching = CustomFieldValue.select(CustomFieldValue.document).where(
            (CustomFieldValue.field == field.id)
            & reduce(operator.and_, (getattr(CustomFieldValue, c) == v for c, v in columns.items()))
        )
        query = query.where(Node.id.in_(matching))
    total = query.count()
    if spec.order_by == "field":
        if spec.field_id is None:
            raise UserFacingError("FIELD_REQUIRED", "Ordering by a field needs its id.", "orderBy")
        field = visible_field(viewer, spec.field_id, "orderBy")
        value = _value_column(field)
        query = query.join(
            CustomFieldValue, JOIN.LEFT_OUTER,
            on=((CustomFieldValue.document == Node.id) & (CustomFieldValue.field == field.id)),
        )  # fmt: skip
        # Documents without a value come last, whatever the direction.
        order = [(Case(None, [(value.is_null(), 1)], 0), False), (value, spec.descending)]
    elif spec.order_by == "title":
        order = [(fn.LOWER(Node.title), spec.descending)]
    elif spec.order_by == "created":
        order = [(Node.created_at, spec.descending)]
    elif spec.order_by == "updated":
        order = [(Node.updated_at, spec.descending)]
    elif spec.order_by == "kind":
        order = [(Node.kind, spec.descending), (fn.LOWER(Node.title), False)]
    elif spec.order_by == "type":
        # Folders and documents without a type come last, whatever the direction.
        column = Document.document_type
        order = [
            (Case(None, [(column.is_null(), 1)], 0), False),
            (column, spec.descending),
            (fn.LOWER(Node.title), False),
        ]
    else:
        raise UserFacingError("INVALID_ORDER", f"Order by one of {ORDER_FIELDS}.", "orderBy")
    return keyset_page(query, [*order, (Node.id, False)], spec.window), total


def cursor_shape(viewer: Viewer, spec: ChildrenQuery) -> tuple[type | tuple[type, ...], ...]:
    """The types of the sort key of ``spec``'s order, to check a cursor against."""
    shapes: dict[str, tuple[type | tuple[type, ...], ...]] = {
        "title": (str,),
        "created": (datetime,),
        "updated": (datetime,),
        "kind": (str, str),
        "type": (int, (int, type(None)), str),
    }
    if spec.order_by != "field" or spec.field_id is None:
        return (*shapes.get(spec.order_by, ()), int)
    field = visible_field(viewer, spec.field_id, "orderBy")
    column = _value_column(field)
    kinds: dict[Field, type | tuple[type, ...]] = {
        CustomFieldValue.value_number: (Decimal, int, float),
        CustomFieldValue.value_date: date,
        CustomFieldValue.value_bool: bool,
        CustomFieldValue.value_text: str,
    }
    value = kinds[column]
    return (int, (*(value if isinstance(value, tuple) else (value,)), type(None)), int)
