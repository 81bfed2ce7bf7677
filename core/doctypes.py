"""Document types and their custom fields; values are checked by the field's kind.

A value arrives as text (what a form sends) and is stored in the column of its kind, so
children sort and filter by it correctly: numbers as numbers, dates as dates. A monetary value
is an amount with an optional ISO 4217 currency in front: ``EUR12.50``, ``12.50``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from peewee import IntegrityError

from archivist.core.db import database
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.models import CustomField, CustomFieldValue, Document, DocumentType, Node
from archivist.core.nodes import get_node, parse_id
from archivist.core.permissions import (
    label_owner,
    labels_of_owner,
    owned_labels,
    permissions_on,
    require_fits,
    require_permission,
    seen_labels,
)
from archivist.core.users import Viewer

MONETARY = re.compile(r"^([A-Z]{3})?(-?\d{1,15}(?:\.\d{1,2})?)$")
MAX_TEXT = 10_000


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    options: tuple[str, ...] = ()


class FieldErrors(UserFacingError):
    """Several fields are wrong at once; ``errors`` holds one UserFacingError per field."""

    def __init__(self, errors: list[UserFacingError]) -> None:
        super().__init__(errors[0].code, errors[0].message, errors[0].field)
        self.errors = errors


def get_type(
    viewer: Viewer, type_id: str | int, field: str = "id", *, changing: bool = True
) -> DocumentType:
    """One of the viewer's document types or their groups'; with ``changing`` False (only
    reading it), any the viewer may see (:func:`seen_labels`: also a document's they may
    read). Raises NotFound for any other."""
    visible = owned_labels if changing else seen_labels
    row = DocumentType.get_or_none(
        (DocumentType.id == parse_id(type_id, field, ("DocumentType",)))
        & visible(viewer, DocumentType)
    )
    if row is None:
        raise NotFound("document type", field)
    return row


def _check_fields(fields: list[FieldSpec]) -> None:
    names = [f.name.strip() for f in fields]
    for index, spec in enumerate(fields):
        where = f"fields.{index}"
        if not spec.name.strip() or len(spec.name) > 100:
            raise UserFacingError("INVALID_NAME", "A field name is 1 to 100 characters.", where)
        if names.count(spec.name.strip()) > 1:
            raise UserFacingError("DUPLICATE_FIELD", f"Two fields are called '{spec.name}'.", where)
        if spec.kind not in CustomField.KINDS:
            raise UserFacingError(
                "INVALID_KIND", f"A field kind is one of {', '.join(CustomField.KINDS)}.", where
            )
        if spec.kind == "select" and not spec.options:
            raise UserFacingError("NO_OPTIONS", "A select field needs its options.", where)


def create_document_type(
    viewer: Viewer, name: str, fields: list[FieldSpec], group_id: str | None = None
) -> DocumentType:
    """A type of the viewer's, or of their group ``group_id`` (``document_type.create``)."""
    user, group = label_owner(viewer, group_id, "document_type.create")
    name = _type_name(name)
    _check_fields(fields)
    try:
        with database.atomic():
            row: DocumentType = DocumentType.create(name=name, owner_user=user, owner_group=group)
            for position, spec in enumerate(fields):
                CustomField.create(
                    document_type=row, name=spec.name.strip(), kind=spec.kind,
                    options=json.dumps(list(spec.options)), position=position,
                )  # fmt: skip
    except IntegrityError:
        whose = "The group already has" if group is not None else "You already have"
        raise UserFacingError(
            "TYPE_EXISTS", f"{whose} a document type called '{name}'.", "name"
        ) from None
    return row


def _type_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise UserFacingError("INVALID_NAME", "A type name is 1 to 100 characters.", "name")
    return name


def _type_taken(row: DocumentType, name: str) -> UserFacingError:
    whose = "The group already has" if row.owner_group_id is not None else "You already have"
    return UserFacingError("TYPE_EXISTS", f"{whose} a document type called '{name}'.", "name")


def update_document_type(viewer: Viewer, type_id: str, name: str) -> tuple[DocumentType, list[int]]:
    """Rename a type (``document_type.update``); returns it and the documents to re-index."""
    require_permission(viewer, "document_type.update")
    row = get_type(viewer, type_id)
    name = _type_name(name)
    try:
        with database.atomic():
            DocumentType.update(name=name).where(DocumentType.id == row.id).execute()
    except IntegrityError:
        raise _type_taken(row, name) from None
    documents = [d.node_id for d in Document.select().where(Document.document_type == row.id)]
    return DocumentType.get_by_id(row.id), documents


def delete_document_type(viewer: Viewer, type_id: str) -> list[int]:
    """Delete a type (documents keep no type); returns the documents to re-index."""
    require_permission(viewer, "document_type.delete")
    row = get_type(viewer, type_id)
    documents = [d.node_id for d in Document.select().where(Document.document_type == row.id)]
    row.delete_instance(recursive=False)
    return documents


def types_of(viewer: Viewer, group_id: str | None = None) -> list[DocumentType]:
    """The viewer's document types, or their group ``group_id``'s, by name; raises
    PERMISSION_DENIED without ``document_type.view``."""
    user, group = label_owner(viewer, group_id, "document_type.view")
    owner = DocumentType.owner_user == user if group is None else DocumentType.owner_group == group
    return list(DocumentType.select().where(owner).order_by(DocumentType.name))


def types_for(viewer: Viewer, node: Node) -> list[DocumentType]:
    """The types ``node`` may have (its owner's), by name; none unless it is a document the
    viewer may change (``node.update``)."""
    if node.kind != Node.DOCUMENT or "node.update" not in permissions_on(viewer, node):
        return []
    query = DocumentType.select().where(labels_of_owner(DocumentType, node))
    return list(query.order_by(DocumentType.name))


def _type_for(viewer: Viewer, node: Node, type_id: str) -> DocumentType:
    """The type ``type_id`` names for ``node``: the viewer's or their groups', or the
    document owner's (an editor of a share uses the owner's types); it must be the owner's
    (OWNER_MISMATCH)."""
    row = DocumentType.get_or_none(
        DocumentType.id == parse_id(type_id, "typeId", ("DocumentType",))
    )
    return require_fits(viewer, [node], row, "document type", "typeId")


def fields_of(type_id: int) -> list[CustomField]:
    query = CustomField.select().where(CustomField.document_type == type_id)
    return list(query.order_by(CustomField.position))


def set_document_type(viewer: Viewer, document_id: str, type_id: str | None) -> Node:
    """Give a document a type (or none); values of fields it no longer has are dropped."""
    node = get_node(viewer, document_id, "documentId", "node.update")
    if node.kind != Node.DOCUMENT:
        raise UserFacingError("NOT_A_DOCUMENT", "Only documents have a type.", "documentId")
    row = _type_for(viewer, node, type_id) if type_id else None
    with database.atomic():
        Document.update(document_type=row.id if row else None).where(
            Document.node == node.id
        ).execute()
        keep = [f.id for f in fields_of(row.id)] if row else []
        CustomFieldValue.delete().where(
            (CustomFieldValue.document == node.id) & CustomFieldValue.field.not_in(keep or [0])
        ).execute()
    return node


def parse_value(field: CustomField, raw: str, where: str) -> dict[str, Any]:
    """The columns that store ``raw`` for ``field``; raises UserFacingError(INVALID_VALUE)."""

    def bad(expected: str) -> UserFacingError:
        return UserFacingError(
            "INVALID_VALUE", f"{field.name}: expected {expected}, got '{raw}'.", where
        )

    text = raw.strip()
    kind = field.kind
    if kind == "text":
        if len(raw) > MAX_TEXT:
            raise bad(f"at most {MAX_TEXT} characters")
        return {"value_text": raw}
    if kind == "integer":
        if not re.fullmatch(r"-?\d{1,15}", text):
            raise bad("a whole number")
        return {"value_number": Decimal(text)}
    if kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise bad("a number") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
            raise bad("a finite number below 10^14")
        return {"value_number": number.quantize(Decimal("0.000001"))}
    if kind == "monetary":
        match = MONETARY.match(text)
        if not match:
            raise bad("an amount such as EUR12.50 or 12.50")
        return {"value_text": match.group(1), "value_number": Decimal(match.group(2))}
    if kind == "date":
        try:
            return {"value_date": date.fromisoformat(text)}
        except ValueError:
            raise bad("a date as YYYY-MM-DD") from None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise bad("true or false")
        return {"value_bool": text.lower() == "true"}
    if kind == "select":
        options = json.loads(field.options)
        if text not in options:
            raise bad(f"one of {', '.join(options)}")
        return {"value_text": text}
    if kind == "url":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise bad("an http(s) URL")
        return {"value_text": text}
    raise bad("a known kind")  # pragma: no cover (kinds are checked on creation)


def format_value(field: CustomField, value: CustomFieldValue) -> str | None:
    """The stored value as the text a client shows and sends back."""
    kind = field.kind
    if kind in ("text", "select", "url"):
        return value.value_text
    if kind == "integer":
        return str(int(value.value_number)) if value.value_number is not None else None
    if kind == "number":
        return (
            format(value.value_number.normalize(), "f") if value.value_number is not None else None
        )
    if kind == "monetary":
        if value.value_number is None:
            return None
        return f"{value.value_text or ''}{Decimal(value.value_number).quantize(Decimal('0.01'))}"
    if kind == "date":
        return value.value_date.isoformat() if value.value_date else None
    if kind == "boolean":
        return None if value.value_bool is None else str(bool(value.value_bool)).lower()
    return None


def set_field_values(
    viewer: Viewer, document_id: str, values: list[tuple[str, str | None]]
) -> Node:
    """Set (or, with None, clear) custom field values; every bad one is reported at once."""
    node = get_node(viewer, document_id, "documentId", "node.update")
    document = Document.get_or_none(Document.node == node.id)
    if document is None or document.document_type_id is None:
        raise UserFacingError(
            "NO_DOCUMENT_TYPE", "Give the document a type before setting its fields.", "documentId"
        )
    fields = {f.id: f for f in fields_of(document.document_type_id)}
    errors: list[UserFacingError] = []
    parsed: list[tuple[CustomField, dict[str, Any] | None]] = []
    for index, (field_id, raw) in enumerate(values):
        where = f"values.{index}"
        try:
            field = fields[parse_id(field_id, where, ("CustomField",))]
        except (KeyError, NotFound):
            errors.append(UserFacingError("UNKNOWN_FIELD", "This type has no such field.", where))
            continue
        try:
            parsed.append((field, None if raw is None else parse_value(field, raw, where)))
        except UserFacingError as error:
            errors.append(error)
    if errors:
        raise FieldErrors(errors)
    empty = {"value_text": None, "value_number": None, "value_date": None, "value_bool": None}
    with database.atomic():
        for field, columns in parsed:
            CustomFieldValue.delete().where(
                (CustomFieldValue.document == node.id) & (CustomFieldValue.field == field.id)
            ).execute()
            if columns is not None:
                CustomFieldValue.create(document=node.id, field=field.id, **{**empty, **columns})
    return node
