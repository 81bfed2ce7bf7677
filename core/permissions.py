"""Who may see what. Every resolver, subscription, search and file route asks here.

A node is readable by the user who owns it and by the members of the group that owns it.
Superusers administer accounts; they do not read other people's documents (a DMS holds
private papers), so they get no exception here.
"""

from __future__ import annotations

from peewee import Expression

from archivist.core.models import Node
from archivist.core.users import Viewer


def readable_by(viewer: Viewer) -> Expression:
    """A WHERE clause over Node that keeps only what ``viewer`` may read."""
    clause: Expression = Node.owner_user == viewer.id
    if viewer.group_ids:
        clause = clause | Node.owner_group.in_(sorted(viewer.group_ids))
    return clause


def can_read(viewer: Viewer, node: Node) -> bool:
    """Whether ``viewer`` may read ``node`` (already loaded)."""
    if node.owner_user_id is not None:
        return bool(node.owner_user_id == viewer.id)
    return node.owner_group_id in viewer.group_ids
