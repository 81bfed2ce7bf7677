"""The audit log: who did what, when, with old and new values where they are small.

Append-only: the API only adds entries and reads them. Reading follows ``audit_log.view``
and, for entries about a node, whether the reader may see that node now.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from peewee import Expression, ModelSelect

from archivist.core.errors import NotFound, UserFacingError
from archivist.core.ids import decode_id
from archivist.core.models import AuditEntry, Node
from archivist.core.paging import Slice, Window, keyset_page
from archivist.core.permissions import readable_by, require_permission
from archivist.core.users import Viewer

# Values longer than this are left out of an entry's details (a page's text is not kept).
MAX_VALUE = 200
# Never written down.
SECRET_ARGUMENTS = frozenset({"password", "oldPassword", "newPassword", "file"})


def _small(details: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in details.items():
        text = json.dumps(value, default=str)
        kept[key] = value if len(text) <= MAX_VALUE else "…"
    return kept


def record(
    viewer: Viewer | None,
    action: str,
    *,
    node_id: int | None = None,
    user_id: int | None = None,
    group_id: int | None = None,
    actor_name: str | None = None,
    **details: Any,
) -> None:
    """Add an entry (call it in the transaction of the change it records)."""
    AuditEntry.create(
        actor_id=viewer.id if viewer is not None else None,
        actor_name=(actor_name or (viewer.username if viewer is not None else ""))[:150],
        action=action[:64],
        node_id=node_id,
        target_user_id=user_id,
        target_group_id=group_id,
        details=json.dumps(_small(details), default=str),
    )


def record_mutation(
    viewer: Viewer, action: str, node_ids: list[int], arguments: Mapping[str, Any]
) -> None:
    """One entry per node a mutation changed (its history), or one without a node; the
    arguments (small ones) as details. Ids given as API ids stay as they were given."""
    small = {key: value for key, value in arguments.items() if key not in SECRET_ARGUMENTS}
    # A group or user the mutation names (``createTag(groupId:)``) is the entry's target;
    # the id stays in the details as it was given.
    targets: dict[str, int | None] = {}
    for key, type_name in (("group_id", "Group"), ("user_id", "User")):
        if key in small:
            given = small.pop(key)
            small[key.removesuffix("_id")] = given
            targets[key] = None
            with contextlib.suppress(UserFacingError):
                targets[key] = decode_id(str(given), (type_name,), key)[1]
    for node_id in dict.fromkeys(node_ids) or [None]:
        record(viewer, action, node_id=node_id, group_id=targets.get("group_id"),
               user_id=targets.get("user_id"), **small)  # fmt: skip


def entries(
    viewer: Viewer,
    *,
    node_id: str | None = None,
    user_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ModelSelect[AuditEntry]:
    """The entries ``viewer`` may read, narrowed to a node's history, one person's doings,
    and a time range. Raises PERMISSION_DENIED without ``audit_log.view``; NotFound for a
    node they may not see."""
    require_permission(viewer, "audit_log.view")
    query = AuditEntry.select()
    # Entries about a node are readable while the node is (a deleted node's history is kept
    # for the log, and readable only by whoever may read the whole log: none, for now).
    visible: Expression = AuditEntry.node_id.is_null() | AuditEntry.node_id.in_(
        Node.select(Node.id).where(readable_by(viewer))
    )
    query = query.where(visible)
    if node_id is not None:
        _, row_id = decode_id(node_id, ("Folder", "Document"), "nodeId")
        if not Node.select().where((Node.id == row_id) & readable_by(viewer)).exists():
            raise NotFound("node", "nodeId")
        query = query.where(AuditEntry.node_id == row_id)
    if user_id is not None:
        _, row = decode_id(user_id, ("User",), "userId")
        query = query.where(AuditEntry.actor_id == row)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query


def entries_page(viewer: Viewer, window: Window, **filters: Any) -> tuple[Slice, int]:
    """One page of :func:`entries`, newest first, and how many there are in all."""
    query = entries(viewer, **filters)
    return keyset_page(query, [(AuditEntry.id, True)], window), query.count()
