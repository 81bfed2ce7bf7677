"""Custom scalars: DateTime as ISO 8601 in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from ariadne import ScalarType

datetime_scalar = ScalarType("DateTime")


@datetime_scalar.serializer
def serialize_datetime(value: datetime) -> str:
    """Stored datetimes are naive UTC; clients get an explicit ``Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


@datetime_scalar.value_parser
def parse_datetime(value: str) -> datetime:
    """Accepts ISO 8601; a value without a zone is taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


bindables = [datetime_scalar]
