"""Listing a folder's children: filtered, ordered, paged, in a fixed number of queries."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce

from peewee import JOIN, Case, Field, fn

from archivist.core.doctypes import parse_value
from archivist.core.errors import UserFacingError
from archivist.core.models import CustomField, CustomFieldValue, Document, Node, NodeTag
from archivist.core.nodes import get_node, parse_id
from archivist.core.users import Viewer

ORDER_FIELDS = ("title", "created", "updated", "kind", "type", "field")
MAX_PAGE = 1000


@dataclass(frozen=True)
class ChildrenQuery:
    order_by: str = "title"
    descending: bool = False
    field_id: str | None = None  # with order_by "field"
    tag_ids: tuple[str, ...] = ()  # all of them
    kind: str | None = None  # folder or document
    document_type_id: str | None = None
    field_equals: tuple[str, str] | None = None  # (custom field id, value as text)
    first: int = 100
    offset: int = 0


def _value_column(field: CustomField) -> Field:
    if field.kind in ("integer", "number", "monetary"):
        return CustomFieldValue.value_number
    if field.kind == "date":
        return CustomFieldValue.value_date
    if field.kind == "boolean":
        return CustomFieldValue.value_bool
    return CustomFieldValue.value_text


def _field(field_id: str, where: str) -> CustomField:
    field = CustomField.get_or_none(CustomField.id == parse_id(field_id, where))
    if field is None:
        raise UserFacingError("UNKNOWN_FIELD", "No such custom field.", where)
    return field


def children(viewer: Viewer, folder_id: str, spec: ChildrenQuery) -> tuple[list[Node], int]:
    """One page of the folder's live children and how many there are in all."""
    folder = get_node(viewer, folder_id)
    query = Node.select(Node).where((Node.parent == folder.id) & Node.deleted_at.is_null())
    if spec.kind:
        query = query.where(Node.kind == spec.kind)
    for tag_id in spec.tag_ids:
        tagged = NodeTag.select(NodeTag.node).where(NodeTag.tag == parse_id(tag_id, "filter.tags"))
        query = query.where(Node.id.in_(tagged))
    needs_document = spec.document_type_id is not None or spec.order_by == "type"
    if needs_document:
        query = query.join(Document, JOIN.LEFT_OUTER, on=(Document.node == Node.id))
    if spec.document_type_id is not None:
        type_id = parse_id(spec.document_type_id, "filter.documentType")
        query = query.where(Document.document_type == type_id)
    if spec.field_equals is not None:
        field = _field(spec.field_equals[0], "filter.fieldValue")
        columns = parse_value(field, spec.field_equals[1], "filter.fieldValue")
        matching = CustomFieldValue.select(CustomFieldValue.document).where(
            (CustomFieldValue.field == field.id)
            & reduce(operator.and_, (getattr(CustomFieldValue, c) == v for c, v in columns.items()))
        )
        query = query.where(Node.id.in_(matching))
    total = query.count()
    direction = (lambda column: column.desc()) if spec.descending else (lambda c: c.asc())
    if spec.order_by == "field":
        if spec.field_id is None:
            raise UserFacingError("FIELD_REQUIRED", "Ordering by a field needs its id.", "orderBy")
        field = _field(spec.field_id, "orderBy")
        value = _value_column(field)
        query = query.join(
            CustomFieldValue, JOIN.LEFT_OUTER,
            on=((CustomFieldValue.document == Node.id) & (CustomFieldValue.field == field.id)),
        )  # fmt: skip
        # Documents without a value come last, whatever the direction.
        missing = Case(None, [(value.is_null(), 1)], 0)
        order = [missing.asc(), direction(value)]
    elif spec.order_by == "title":
        order = [direction(fn.LOWER(Node.title))]
    elif spec.order_by == "created":
        order = [direction(Node.created_at)]
    elif spec.order_by == "updated":
        order = [direction(Node.updated_at)]
    elif spec.order_by == "kind":
        order = [direction(Node.kind), fn.LOWER(Node.title).asc()]
    elif spec.order_by == "type":
        order = [direction(Document.document_type), fn.LOWER(Node.title).asc()]
    else:
        raise UserFacingError("INVALID_ORDER", f"Order by one of {ORDER_FIELDS}.", "orderBy")
    limit = max(0, min(spec.first, MAX_PAGE))
    page = query.order_by(*order, Node.id.asc()).offset(spec.offset).limit(limit)
    return list(page), total
