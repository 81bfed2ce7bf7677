"""Who may do what. Every resolver, subscription, search and file route asks here.

Two things decide, together:

- **Access to the object**: a node is the viewer's when they own it or are a member of the
  group that owns it; it is shared with them when a :class:`~archivist.core.models.Share`
  names them (or a group of theirs) on it or on a folder above it.
- **Permission**: what the viewer may do with it. On their own and their groups' nodes, the
  permissions of their roles (given directly and through their groups); on a shared node,
  the permissions of the share's role. Account administration (users, groups, roles, the
  audit log) needs the permission alone.

- **Labels** (tags and document types) belong to a user or a group, like nodes: the viewer's
  own and their groups' are theirs to list and change as their roles allow. A folder or
  document carries only its owner's labels, whoever puts them there: an editor of a share
  applies the owner's tags and types (and sees them), never their own, so that nobody's
  labels show on somebody else's documents (:func:`require_fits`).

Superusers administer accounts; they do not read other people's documents (a DMS holds
private papers), so they get no exception here: what is not theirs or shared with them stays
invisible to them too.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from peewee import Expression, fn

from archivist.core.db import database
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.ids import decode_id
from archivist.core.models import Document, DocumentType, Node, NodeTag, Tag
from archivist.core.settings import Settings
from archivist.core.users import Viewer

# Every permission, with what it allows: the one list (the ``permissions`` query shows it).
PERMISSIONS: dict[str, str] = {
    "node.view": "See folders and documents, their pages, previews and text; search them.",
    "node.create": "Make folders, and copies of documents, in a folder.",
    "node.update": "Rename; tag and untag; set a document's type and field values.",
    "node.move": "Move folders and documents.",
    "node.delete": "Move folders and documents to the trash, restore them, empty the trash.",
    "document.upload": "Upload documents into a folder.",
    "document.download": "Download originals, versions and zips of documents.",
    "page.edit": "Rotate, reorder, delete, extract, move and merge pages; process them again.",
    "tag.view": "See tags.",
    "tag.create": "Make tags.",
    "tag.update": "Rename and recolour tags.",
    "tag.delete": "Delete tags.",
    "document_type.view": "See document types and their fields.",
    "document_type.create": "Make document types.",
    "document_type.update": "Change document types.",
    "document_type.delete": "Delete document types.",
    "share.view": "See who a folder or document is shared with.",
    "share.create": "Share folders and documents with users and groups.",
    "share.delete": "Revoke shares.",
    "user.view": "See every account.",
    "user.create": "Make accounts.",
    "user.update": "Change accounts: name, email, active, roles, password reset.",
    "user.delete": "Delete accounts (their documents go to a chosen user or group).",
    "group.view": "See every group and its members.",
    "group.create": "Make groups.",
    "group.update": "Rename groups, add and remove members, give groups roles.",
    "group.delete": "Delete groups (their documents go to a chosen user or group).",
    "role.view": "See roles.",
    "role.create": "Make roles.",
    "role.update": "Change roles (not the built-in ones).",
    "role.delete": "Delete roles (not the built-in ones).",
    "audit_log.view": "Read the audit log (of nodes only as far as you may see them).",
}

_WORK = [
    "node.view", "node.create", "node.update", "node.move", "node.delete",
    "document.upload", "document.download", "page.edit",
    "tag.view", "tag.create", "tag.update", "tag.delete",
    "document_type.view", "document_type.create", "document_type.update",
    "document_type.delete", "share.view", "share.create", "share.delete",
]  # fmt: skip
# Made at first start (migration 0012) and brought up to date with this list at every start.
BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "Viewer": frozenset(
        ["node.view", "document.download", "tag.view", "document_type.view", "share.view"]
    ),
    "Editor": frozenset(_WORK),
    "Administrator": frozenset(PERMISSIONS),
}
# What a new account gets unless the call says otherwise.
DEFAULT_ROLE = "Editor"


def permission_denied(permission: str, field: str | None = None) -> UserFacingError:
    return UserFacingError(
        "PERMISSION_DENIED",
        f"Your role does not allow this ({permission}: {PERMISSIONS[permission]})",
        field,
    )


def owned_by(viewer: Viewer) -> Expression:
    """A WHERE clause over Node: the viewer's own nodes and their groups' (not shares)."""
    clause: Expression = Node.owner_user == viewer.id
    if viewer.group_ids:
        clause = clause | Node.owner_group.in_(sorted(viewer.group_ids))
    return clause


def _shared(roots: list[int]) -> Expression:
    """A WHERE clause over Node: the shared ``roots`` and everything below them. A node is
    below a shared folder when its parent is one of the folders in the shared trees, found by
    one recursive query over folders only (documents are the many; a folder's children need
    no walk), so its cost follows the shared folders, not the documents in them."""
    base = Node.select(Node.id).where(Node.id.in_(roots) & (Node.kind == Node.FOLDER))
    tree = base.cte("shared_folders", recursive=True, columns=("id",))
    child = Node.alias("child")
    tree = tree.union_all(
        child.select(child.id)
        .join(tree, on=(child.parent == tree.c.id))
        .where(child.kind == Node.FOLDER)
    )
    return Node.id.in_(roots) | Node.parent.in_(tree.select_from(tree.c.id))


def readable_by(viewer: Viewer) -> Expression:
    """A WHERE clause over Node that keeps only what ``viewer`` may see (``node.view``):
    their own and their groups' nodes as their roles allow, and what is shared with them
    with a role that allows it, with everything below it."""
    clause: Expression = Node.id == 0  # nothing, unless something below allows it
    if "node.view" in viewer.permissions:
        clause = owned_by(viewer)
    roots = sorted(node_id for node_id, perms in viewer.shares if "node.view" in perms)
    if roots:
        clause = clause | _shared(roots)
    return clause


def readable_sql(viewer: Viewer) -> tuple[str, tuple[Any, ...]]:
    """:func:`readable_by` as SQL and its parameters, for a query that names the node table
    ``t1`` (as Peewee names it in a query over Node alone): for hot paths whose queries are
    written out by hand, because composing this clause costs Peewee more than running it.
    Composed once per kind of database and viewer (a Viewer is immutable: a change of groups,
    roles or shares makes another one), kept for the last 4,096."""
    return _readable_sql(type(database.obj).__name__, viewer)


@lru_cache(maxsize=4_096)
def _readable_sql(_kind: str, viewer: Viewer) -> tuple[str, tuple[Any, ...]]:
    sql, params = Node.select(Node.id).where(readable_by(viewer)).sql()
    head, _, clause = sql.partition(" WHERE ")
    left, right = database.obj.quote
    expected = f"SELECT {left}t1{right}.{left}id{right} FROM {left}node{right} AS {left}t1{right}"
    if head != expected:
        raise RuntimeError(f"readable_sql: Peewee wrote {head!r}, not {expected!r}")
    return clause, tuple(params)


def _above(node: Node) -> list[int]:
    """The ids of ``node`` and the folders above it (one query per level)."""
    chain = [node.id]
    parent_id = node.parent_id
    while parent_id is not None and parent_id not in chain:
        chain.append(parent_id)
        parent = Node.select(Node.parent).where(Node.id == parent_id).first()
        parent_id = parent.parent_id if parent is not None else None
    return chain


def is_own(viewer: Viewer, node: Node) -> bool:
    """Whether ``node`` belongs to ``viewer`` or a group of theirs (shares do not count)."""
    if node.owner_user_id is not None:
        return bool(node.owner_user_id == viewer.id)
    return node.owner_group_id in viewer.group_ids


def permissions_on(viewer: Viewer, node: Node) -> frozenset[str]:
    """What ``viewer`` may do with ``node``: their roles' permissions on their own and their
    groups' nodes; the shares' roles on a node shared with them (or below a shared folder)."""
    if is_own(viewer, node):
        return viewer.permissions
    if not viewer.shares:
        return frozenset()
    shared = dict(viewer.shares)
    allowed: frozenset[str] = frozenset()
    for node_id in _above(node):
        allowed |= shared.get(node_id, frozenset())
    return allowed


def visible_part(viewer: Viewer, node: Node, chain: list[Node]) -> list[Node]:
    """Of ``chain`` (the folders above ``node``, root first), those ``viewer`` may see: all of
    them above their own node, and from the highest shared folder down above a shared one
    (the owner's folders above what they shared stay unseen)."""
    if is_own(viewer, node):
        return chain if "node.view" in viewer.permissions else []
    shared = {node_id for node_id, perms in viewer.shares if "node.view" in perms}
    for index, folder in enumerate(chain):
        if folder.id in shared:
            return chain[index:]
    return []


def can_read(viewer: Viewer, node: Node) -> bool:
    """Whether ``viewer`` may see ``node`` (already loaded)."""
    return "node.view" in permissions_on(viewer, node)


def require(viewer: Viewer, node: Node, permission: str, field: str | None = "id") -> None:
    """Raises PERMISSION_DENIED unless ``viewer`` may do ``permission`` with ``node`` (which
    they may see: callers look it up under :func:`readable_by` first)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")  # a bug, not a refusal
    if permission not in permissions_on(viewer, node):
        raise permission_denied(permission, field)


def require_permission(viewer: Viewer, permission: str, field: str | None = None) -> None:
    """Raises PERMISSION_DENIED unless one of the viewer's roles gives ``permission`` (for
    what belongs to no node: accounts, groups, roles, the audit log, their own tags)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")
    if permission not in viewer.permissions:
        raise permission_denied(permission, field)


class Owned(Protocol):
    """A row with an owner: a user or a group (a node, a tag, a document type)."""

    owner_user_id: int | None
    owner_group_id: int | None


Label = type[Tag] | type[DocumentType]
L = TypeVar("L", bound=Owned)


def owns(viewer: Viewer, row: Owned) -> bool:
    """Whether ``row`` (a tag or document type) is the viewer's or a group's of theirs."""
    if row.owner_user_id is not None:
        return bool(row.owner_user_id == viewer.id)
    return row.owner_group_id in viewer.group_ids


def owned_labels(viewer: Viewer, model: Label) -> Expression:
    """A WHERE clause over Tag or DocumentType: the viewer's own and their groups'."""
    clause: Expression = model.owner_user == viewer.id
    if viewer.group_ids:
        clause = clause | model.owner_group.in_(sorted(viewer.group_ids))
    return clause


def seen_labels(viewer: Viewer, model: Label) -> Expression:
    """A WHERE clause over Tag or DocumentType: those the viewer may know of (see, never
    change): their own and their groups' as their role allows (``tag.view``,
    ``document_type.view``), and any on a node they may read (a shared or group document
    shows its tags and type, so ``node(id)`` finds what the document showed)."""
    on_readable: Any
    if model is Tag:
        on_readable = (
            NodeTag.select(NodeTag.id)
            .join(Node, on=(NodeTag.node == Node.id))
            .where((NodeTag.tag == Tag.id) & readable_by(viewer))
        )
        permission = "tag.view"
    else:
        on_readable = (
            Document.select(Document.node)
            .join(Node, on=(Document.node == Node.id))
            .where((Document.document_type == DocumentType.id) & readable_by(viewer))
        )
        permission = "document_type.view"
    clause: Any = fn.EXISTS(on_readable)
    if permission in viewer.permissions:
        clause = owned_labels(viewer, model) | clause
    return clause


def labels_of_owner(model: Label, node: Owned) -> Expression:
    """A WHERE clause over Tag or DocumentType: those of ``node``'s owner (the only ones that
    may go on it)."""
    if node.owner_user_id is not None:
        return model.owner_user == node.owner_user_id
    return model.owner_group == node.owner_group_id


def same_owner(a: Owned, b: Owned) -> bool:
    return (a.owner_user_id, a.owner_group_id) == (b.owner_user_id, b.owner_group_id)


def require_fits(
    viewer: Viewer, nodes: list[Node], label: L | None, what: str, field: str | None
) -> L:
    """Whether ``label`` (a tag or a document type, ``what``; None when no row has its id)
    may go on ``nodes``, which the viewer may change (``node.update``, checked by the caller);
    returns it.

    Raises NOT_FOUND unless the viewer may know the label: theirs, a group's of theirs, or the
    owner's of one of the nodes (an editor of a share uses the owner's). Raises
    OWNER_MISMATCH unless it belongs to the owner of every node: a folder or document
    carries only its owner's labels, whoever puts them on, so nobody's own labels show on
    somebody else's documents."""
    if label is None or not (owns(viewer, label) or any(same_owner(n, label) for n in nodes)):
        raise NotFound(what, field)
    for node in nodes:
        if not same_owner(node, label):
            raise UserFacingError(
                "OWNER_MISMATCH",
                f"'{node.title}' can carry only its owner's {what}s, and this {what} is not one.",
                field,
            )
    return label


def label_owner(
    viewer: Viewer, group_id: str | None, permission: str, field: str = "groupId"
) -> tuple[int | None, int | None]:
    """Who a new tag or document type belongs to: the viewer, or the group ``group_id`` names
    (one of theirs: any other is NOT_FOUND), as (user id, group id). Raises
    PERMISSION_DENIED unless the viewer's roles give ``permission``."""
    require_permission(viewer, permission)
    if group_id is None:
        return viewer.id, None
    _, row_id = decode_id(group_id, ("Group",), field)
    if row_id not in viewer.group_ids:
        raise NotFound("group", field)
    return None, row_id


def can_administer_queue(viewer: Viewer) -> bool:
    """Whether ``viewer`` may see the work queues and workers and retry or discard failed
    jobs: superusers only. What they see names jobs by their ids, never a document's title,
    so this grants no reading of documents. A person sees where their own documents stand
    through the document (``Document.queuePosition``), under :func:`can_read`."""
    return viewer.is_superuser


def may_scrape_metrics(settings: Settings, client_host: str | None, token: str | None) -> bool:
    """Whether a request may read ``/metrics``: it carries ``ARCHIVIST_METRICS_TOKEN`` as its
    bearer token, or comes from an address within ``ARCHIVIST_METRICS_ALLOW``. (With neither
    set, the route does not exist: see archivist.graphql.metrics.)"""
    expected = settings.metrics_token
    if expected and token and hmac.compare_digest(token.encode(), expected.encode()):
        return True
    return _allowed_address(settings, client_host)


def _allowed_address(settings: Settings, client_host: str | None) -> bool:
    if client_host is None or not settings.metrics_allow:
        return False
    try:
        address = ipaddress.ip_address(client_host)
    except ValueError:  # a unix socket's peer, or a test client's made-up name
        return False
    return any(address in network for network in settings.metrics_allow)
