"""Global ids: what the API calls an id, and the row it names.

Every object the API gives an ``id`` has one that is unique across all types and opaque to
clients: URL-safe base64, without padding, of ``"<Type>:<row id>"`` (``Folder:12`` becomes
``Rm9sZGVyOjEy``), as Relay's object identification expects. The type is part of the id, so a
tag's id never names a folder; an id of the wrong type is answered exactly like one that names
nothing (``NOT_FOUND``), so an id says nothing about what exists.

Only the one spelling we give out is accepted (no padding, no other alphabet, no leading
zeros): a client cache that normalises objects by id then never holds one object twice.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from archivist.core.errors import NotFound

# The types with global ids, and the noun a NOT_FOUND message uses for each.
TYPES: dict[str, str] = {
    "User": "user",
    "Folder": "node",
    "Document": "node",
    "DocumentVersion": "version",
    "Page": "page",
    "Tag": "tag",
    "DocumentType": "document type",
    "CustomField": "custom field",
    "Group": "group",
    "Role": "role",
    "Share": "share",
    "AccessToken": "token",
    "AuditEntry": "audit entry",
}
NODE_TYPES = ("Folder", "Document")
# Row ids fit a 32-bit signed integer on every backend (SERIAL on PostgreSQL): a larger
# number names no row, and would overflow the database drivers if sent on.
MAX_ID = 2**31 - 1
# The longest id we give out ("DocumentVersion:2147483647" in base64) and a bit.
MAX_LENGTH = 48
_DECODED = re.compile(r"([A-Za-z]+):([1-9][0-9]{0,9})")


def global_id(type_name: str, row_id: int) -> str:
    """The API id of row ``row_id`` of ``type_name`` (one of :data:`TYPES`)."""
    if type_name not in TYPES:
        raise ValueError(f"{type_name} has no global ids")
    return _encoded(type_name, int(row_id))


@lru_cache(maxsize=1 << 16)
def _encoded(type_name: str, row_id: int) -> str:
    # A listing or search answer holds hundreds of ids, most of them again in the next one.
    raw = f"{type_name}:{row_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_id(value: object, types: tuple[str, ...], field: str = "id") -> tuple[str, int]:
    """The type and row id an API id names, when its type is one of ``types``.

    Raises NotFound (with ``field``, worded for the first of ``types``) for anything else: not
    an id we gave out, an id of another type, a row id out of range.
    """
    missing = NotFound(TYPES.get(types[0], "node") if types else "node", field)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LENGTH or not value.isascii():
        raise missing
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise missing from None
    match = _DECODED.fullmatch(raw)
    if match is None or match.group(1) not in types:
        raise missing
    type_name, row_id = match.group(1), int(match.group(2))
    if row_id > MAX_ID or global_id(type_name, row_id) != value:
        raise missing
    return type_name, row_id
