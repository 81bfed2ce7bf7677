"""Who may do what, as one table: every root field, subscription and file route has a written
decision, a cell that runs a small real operation of it for every kind of person (the owner,
a group member with each built-in role, a share viewer, a share editor, a stranger, a
superuser, and someone without a token), and the exact outcome expected of each cell. A new
field without all three fails.

The world is prepared once for the module (tests/matrix_world.py); a cell that changes
something changes fresh objects made for it, so the cells do not depend on each other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import matrix_account_cells
import matrix_cells
import pytest
from matrix_world import NULL, OK, PEOPLE, World, prepare
from peewee import Database
from starlette.testclient import TestClient
from support import clear_tables, settings_env

from archivist.core.permissions import BUILTIN_ROLES
from archivist.core.queue import redis_connection
from archivist.core.settings import load_settings, use_settings
from archivist.graphql.schema import build_schema

SIGNED_IN = "any signed-in person, on their own things only"
NODE_ACCESS = "the access module: the node's access and the permission named"
# Every root field and file route, and what guards it.
DECISIONS: dict[str, str] = {
    "Query.me": SIGNED_IN,
    "Query.node": NODE_ACCESS + " (node.view), or the type's own rule",
    "Query.document": NODE_ACCESS + " (node.view)",
    "Query.search": NODE_ACCESS + " (reader terms in the index, then node.view per hit)",
    "Query.searchSuggestions": NODE_ACCESS
    + " (words: reader terms in the index; tags, types, folders: own or on readable nodes)",
    "Query.similarDocuments": NODE_ACCESS + " (node.view on the document, reader terms, per hit)",
    "Query.trash": "own and group nodes only (node.view)",
    "Query.tags": "tag.view, own tags and their groups'",
    "Query.documentTypes": "document_type.view, own types and their groups'",
    "Query.ocrLanguages": SIGNED_IN,
    "Query.workQueue": "superusers (can_administer_queue)",
    "Query.permissions": SIGNED_IN,
    "Query.roles": SIGNED_IN,
    "Query.users": "user.view",
    "Query.groups": "group.view, else own groups",
    "Query.sharedWithMe": SIGNED_IN,
    "Query.myTokens": SIGNED_IN,
    "Query.auditLog": "audit_log.view, and node.view on each entry's node",
    "Mutation.login": "anyone (throttled)",
    "Mutation.logout": SIGNED_IN,
    "Mutation.uploadDocument": NODE_ACCESS + " (document.upload on the folder)",
    "Mutation.retryPage": NODE_ACCESS + " (page.edit)",
    "Mutation.reprocessDocument": NODE_ACCESS + " (page.edit)",
    "Mutation.createFolder": NODE_ACCESS + " (node.create on the parent)",
    "Mutation.renameNode": NODE_ACCESS + " (node.update)",
    "Mutation.moveNodes": NODE_ACCESS + " (node.move; node.create on the target)",
    "Mutation.copyDocument": NODE_ACCESS + " (node.view; node.create on the target)",
    "Mutation.deleteNodes": NODE_ACCESS + " (node.delete; a sharee's goes to the owner's trash)",
    "Mutation.restoreNodes": NODE_ACCESS + " (node.delete), own and group trash only",
    "Mutation.emptyTrash": "node.delete, own trash",
    "Mutation.createTag": "tag.create",
    "Mutation.updateTag": "tag.update, own tags and their groups'",
    "Mutation.deleteTag": "tag.delete, own tags and their groups'",
    "Mutation.tagNodes": NODE_ACCESS + " (node.update), the node owner's tags",
    "Mutation.untagNodes": NODE_ACCESS + " (node.update), the node owner's tags",
    "Mutation.createDocumentType": "document_type.create",
    "Mutation.updateDocumentType": "document_type.update, own types and their groups'",
    "Mutation.deleteDocumentType": "document_type.delete, own types and their groups'",
    "Mutation.setDocumentType": NODE_ACCESS + " (node.update), the node owner's types",
    "Mutation.rotatePages": NODE_ACCESS + " (page.edit)",
    "Mutation.reorderPages": NODE_ACCESS + " (page.edit)",
    "Mutation.deletePages": NODE_ACCESS + " (page.edit)",
    "Mutation.extractPages": NODE_ACCESS + " (page.edit; node.create on the folder)",
    "Mutation.movePages": NODE_ACCESS + " (page.edit on both)",
    "Mutation.mergeDocuments": NODE_ACCESS + " (page.edit; node.create on the folder)",
    "Mutation.setCustomFieldValues": NODE_ACCESS + " (node.update)",
    "Mutation.retryJob": "superusers (can_administer_queue)",
    "Mutation.discardJob": "superusers (can_administer_queue)",
    "Mutation.createUser": "user.create",
    "Mutation.updateUser": "user.update",
    "Mutation.deleteUser": "user.delete",
    "Mutation.resetPassword": "user.update",
    "Mutation.setUserRoles": "user.update",
    "Mutation.changePassword": SIGNED_IN + " (the old password)",
    "Mutation.createApiToken": SIGNED_IN,
    "Mutation.revokeToken": SIGNED_IN + " (own tokens)",
    "Mutation.createGroup": "group.create",
    "Mutation.renameGroup": "group.update",
    "Mutation.addGroupMembers": "group.update",
    "Mutation.removeGroupMembers": "group.update",
    "Mutation.setGroupRoles": "group.update",
    "Mutation.deleteGroup": "group.delete",
    "Mutation.createRole": "role.create",
    "Mutation.updateRole": "role.update",
    "Mutation.deleteRole": "role.delete",
    "Mutation.shareNode": NODE_ACCESS + " (share.create, owner's side only)",
    "Mutation.revokeShare": NODE_ACCESS + " (share.delete, owner's side only)",
    "Subscription.documentProgress": NODE_ACCESS + " (node.view, at every event)",
    "Subscription.documentsProgress": NODE_ACCESS + " (node.view, at every event)",
    "Subscription.nodeEvents": NODE_ACCESS + " (node.view, at every event)",
    "Subscription.queueStats": "superusers (can_administer_queue)",
    "GET /files/zip": NODE_ACCESS + " (document.download)",
    "GET /files/originals/{document_id:int}": NODE_ACCESS + " (document.download)",
    "GET /files/versions/{version_id:int}": NODE_ACCESS + " (document.download)",
    "GET /files/previews/{page_id:int}/{size:str}": NODE_ACCESS + " (node.view)",
}


# What runs for each of them (a field filed twice would be lost: the modules part cleanly).
CELLS = {**matrix_cells.CELLS, **matrix_account_cells.CELLS}
assert not matrix_cells.CELLS.keys() & matrix_account_cells.CELLS.keys()

DENIED, HIDDEN, FORBIDDEN = "PERMISSION_DENIED", "NOT_FOUND", "FORBIDDEN"
# Rows that many fields share, for the signed-in people in their order: owner; member
# Viewer, Editor, Administrator; share viewer, share editor; stranger; superuser (someone
# without a token: WITHOUT_A_TOKEN below).
EVERYONE = (OK,) * 8
EDITS_THE_PLACE = (OK, DENIED, OK, OK, DENIED, OK, HIDDEN, HIDDEN)
ADMINISTERS = (DENIED, DENIED, DENIED, OK, DENIED, DENIED, DENIED, OK)
QUEUE = (FORBIDDEN,) * 7 + ("JOB_NOT_FOUND",)
DOWNLOADS = (200, 200, 200, 200, 200, 200, 404, 404)
OWN_AND_ALICES = (
    (OK, OK),
    (DENIED, DENIED),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
)
# On a document of their place, with their own tag (type) and with one of the place's owner
# (Alice, or group G): a node carries only its owner's labels.
MISMATCH = "OWNER_MISMATCH"
LABELS_THE_PLACE = (
    (OK, OK),
    (DENIED, DENIED),
    (MISMATCH, OK),
    (MISMATCH, OK),
    (DENIED, DENIED),
    (MISMATCH, OK),
    (HIDDEN, HIDDEN),
    (HIDDEN, HIDDEN),
)
OWN = (("own",),) * 8
BUILTIN = (tuple(BUILTIN_ROLES),) * 8

# The outcome of every cell (see each cell's function for what it runs).
EXPECTED: dict[str, tuple[Any, ...]] = {
    "Query.me": ("self",) * 8,
    # Which objects (of every type) the person finds by id: see the cell.
    "Query.node": (
        "folder document version page tag type field role share token user",
        "folder document version page group role",
        "folder document version page group role",
        "folder document version page group role entry user",
        "folder document version page role share",
        "folder document version page role",
        "role",
        "group role user",
    ),
    "Query.document": (OK, OK, OK, OK, OK, OK, NULL, NULL),
    "Query.search": (("alice",), *(("group",),) * 3, ("alice",), ("alice",), (), ()),
    "Query.searchSuggestions": (("matrixword",),) * 6 + ((), ()),
    "Query.similarDocuments": ((), *(HIDDEN,) * 3, (), (), HIDDEN, HIDDEN),
    # The trash is the owner's: a group's members see the group's, a share's people not.
    "Query.trash": ("listed",) * 4 + ("absent",) * 4,
    "Query.tags": OWN,
    "Query.documentTypes": OWN,
    "Query.ocrLanguages": EVERYONE,
    "Query.workQueue": (FORBIDDEN,) * 7 + (OK,),
    "Query.permissions": (True,) * 8,
    "Query.roles": BUILTIN,
    "Query.users": (*ADMINISTERS[:3], ("alice", "friend"), *ADMINISTERS[4:7], ("alice", "friend")),
    "Query.groups": ((), ("G",), ("G",), ("G", "Other"), (), (), (), ("G", "Other")),
    "Query.sharedWithMe": ((), (), (), (), ("Alice's Shared",), ("Alice's Shared",), (), ()),
    "Query.myTokens": ("own",) * 8,
    # Needs audit_log.view, and then the place: Alice's is hidden from the superuser.
    "Query.auditLog": (DENIED, DENIED, DENIED, OK, DENIED, DENIED, DENIED, HIDDEN),
    "Mutation.login": EVERYONE,
    "Mutation.logout": EVERYONE,
    "Mutation.uploadDocument": EDITS_THE_PLACE,
    "Mutation.retryPage": EDITS_THE_PLACE,
    "Mutation.reprocessDocument": EDITS_THE_PLACE,
    "Mutation.createFolder": EDITS_THE_PLACE,
    "Mutation.renameNode": EDITS_THE_PLACE,
    "Mutation.moveNodes": EDITS_THE_PLACE,
    "Mutation.copyDocument": EDITS_THE_PLACE,
    # A share's editor trashes into the owner's trash, so cannot restore from it.
    "Mutation.deleteNodes": tuple(
        (done, "trashed" if done == OK else "in place") for done in EDITS_THE_PLACE
    ),
    "Mutation.restoreNodes": (OK, DENIED, OK, OK, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    # Everyone empties their own trash (a member the group's too), as their roles allow.
    "Mutation.emptyTrash": (
        (OK, "place's emptied"),
        (DENIED, "place's kept"),
        (OK, "place's emptied"),
        (OK, "place's emptied"),
        (OK, "place's kept"),
        (OK, "place's kept"),
        (OK, "place's kept"),
        (OK, "place's kept"),
    ),
    "Mutation.createTag": (OK, DENIED) + (OK,) * 6,
    "Mutation.updateTag": OWN_AND_ALICES,
    "Mutation.deleteTag": OWN_AND_ALICES,
    "Mutation.tagNodes": LABELS_THE_PLACE,
    "Mutation.untagNodes": LABELS_THE_PLACE,
    "Mutation.createDocumentType": (OK, DENIED) + (OK,) * 6,
    "Mutation.updateDocumentType": OWN_AND_ALICES,
    "Mutation.deleteDocumentType": OWN_AND_ALICES,
    "Mutation.setDocumentType": LABELS_THE_PLACE,
    "Mutation.rotatePages": EDITS_THE_PLACE,
    "Mutation.reorderPages": EDITS_THE_PLACE,
    "Mutation.deletePages": EDITS_THE_PLACE,
    "Mutation.extractPages": EDITS_THE_PLACE,
    "Mutation.movePages": EDITS_THE_PLACE,
    "Mutation.mergeDocuments": EDITS_THE_PLACE,
    "Mutation.setCustomFieldValues": EDITS_THE_PLACE,
    "Mutation.retryJob": QUEUE,
    "Mutation.discardJob": QUEUE,
    "Mutation.createUser": ADMINISTERS,
    "Mutation.updateUser": ADMINISTERS,
    "Mutation.deleteUser": ADMINISTERS,
    "Mutation.resetPassword": ADMINISTERS,
    "Mutation.setUserRoles": ADMINISTERS,
    "Mutation.changePassword": EVERYONE,
    "Mutation.createApiToken": EVERYONE,
    # Their own token, and one of Alice's.
    "Mutation.revokeToken": ((OK, OK),) + ((OK, HIDDEN),) * 7,
    "Mutation.createGroup": ADMINISTERS,
    "Mutation.renameGroup": ADMINISTERS,
    "Mutation.addGroupMembers": ADMINISTERS,
    "Mutation.removeGroupMembers": ADMINISTERS,
    "Mutation.setGroupRoles": ADMINISTERS,
    "Mutation.deleteGroup": ADMINISTERS,
    "Mutation.createRole": ADMINISTERS,
    "Mutation.updateRole": ADMINISTERS,
    "Mutation.deleteRole": ADMINISTERS,
    # Sharing is the owner's side's: a share's editor may not pass it on.
    "Mutation.shareNode": (OK, DENIED, OK, OK, DENIED, DENIED, HIDDEN, HIDDEN),
    "Mutation.revokeShare": (OK, DENIED, OK, OK, DENIED, DENIED, HIDDEN, HIDDEN),
    "Subscription.documentProgress": ("next PROCESSING",) * 6 + (HIDDEN, HIDDEN),
    "Subscription.documentsProgress": ("delivered",) * 6 + ("withheld",) * 2,
    "Subscription.nodeEvents": ("next SUBSCRIBED",) * 6 + (HIDDEN, HIDDEN),
    "Subscription.queueStats": (FORBIDDEN,) * 7 + ("next ok",),
    "GET /files/zip": DOWNLOADS,
    "GET /files/originals/{document_id:int}": DOWNLOADS,
    "GET /files/versions/{version_id:int}": DOWNLOADS,
    "GET /files/previews/{page_id:int}/{size:str}": DOWNLOADS,
}


UNAUTHENTICATED = "UNAUTHENTICATED"
# The cells that answer a pair: with the person's own object, and with Alice's.
PAIRS = ["Mutation.updateTag", "Mutation.deleteTag", "Mutation.tagNodes", "Mutation.untagNodes",
         "Mutation.updateDocumentType", "Mutation.deleteDocumentType", "Mutation.setDocumentType",
         "Mutation.revokeToken"]  # fmt: skip
# Without a token: nothing but logging in (subscriptions: the socket is closed at once).
WITHOUT_A_TOKEN: dict[str, Any] = {
    **dict.fromkeys(DECISIONS, UNAUTHENTICATED),
    "Mutation.login": OK,
    "Mutation.deleteNodes": (UNAUTHENTICATED, "in place"),
    "Mutation.emptyTrash": (UNAUTHENTICATED, "place's kept"),
    **dict.fromkeys(PAIRS, (UNAUTHENTICATED, UNAUTHENTICATED)),
    **{name: "closed 4403 UNAUTHENTICATED" for name in DECISIONS if name.startswith("Sub")},
    **{name: 404 for name in DECISIONS if name.startswith("GET")},
}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, migrated_database: Database
) -> Iterator[World]:
    """One world for the module (every cell makes the fresh objects it changes)."""
    from archivist.graphql.app import create_app

    clear_tables()
    tmp = tmp_path_factory.mktemp("matrix")
    settings = load_settings(settings_env(tmp / "data", database_url))
    use_settings(settings)
    redis = redis_connection(settings)
    redis.flushdb()
    with TestClient(create_app(settings)) as client:
        yield prepare(client, settings, tmp)
    redis.flushdb()


def test_every_root_field_and_file_route_has_a_decision_and_a_cell(world: World) -> None:
    from archivist.graphql.app import create_app

    schema = build_schema()
    found = {
        f"{root.name}.{name}"
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
        for name in root.fields
    }
    routes = {
        f"GET {route.path}"
        for route in create_app(world.settings).routes
        if getattr(route, "path", "").startswith("/files/")
    }
    assert found | routes == set(DECISIONS) == set(CELLS) == set(EXPECTED)


@pytest.mark.parametrize("name", list(DECISIONS))
def test_the_matrix(world: World, name: str) -> None:
    got = {who: CELLS[name](world, who) for who in PEOPLE}
    expected = (*EXPECTED[name], WITHOUT_A_TOKEN[name])
    assert got == dict(zip(PEOPLE, expected, strict=True)), name
