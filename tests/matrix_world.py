"""The prepared world of the permission matrix (tests/test_permission_matrix.py): the kinds
of person, the places they work in, and fresh objects made for one cell at a time."""

from __future__ import annotations

import io
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from people_support import call, person, role_id, special
from PIL import Image
from samples import text_pdf
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from support import TEST_PASSWORD, gid, graphql, login, row_id

from archivist.core.db import database
from archivist.core.images import PREVIEW_SIZES
from archivist.core.models import (
    AccessToken,
    CustomField,
    Document,
    DocumentType,
    DocumentVersion,
    Node,
    NodeTag,
    Page,
    Share,
    Tag,
    User,
)
from archivist.core.progress import ProgressEvent, publish
from archivist.core.queue import redis_connection
from archivist.core.search import page_records, search_index
from archivist.core.settings import Settings
from archivist.core.storage import Storage
from archivist.core.users import create_user

# The kinds of person, in the order of every row of the matrix, and last someone without a
# token (what would be theirs is the friend's, a bystander's).
SIGNED_IN = (
    "owner",
    "member Viewer",
    "member Editor",
    "member Administrator",
    "share viewer",
    "share editor",
    "stranger",
    "superuser",
)
ANONYMOUS = "anonymous"
PEOPLE = (*SIGNED_IN, ANONYMOUS)
USERNAMES = {
    "owner": "alice",
    "member Viewer": "mviewer",
    "member Editor": "meditor",
    "member Administrator": "madmin",
    "share viewer": "sviewer",
    "share editor": "seditor",
    "stranger": "stranger",
    "superuser": "boss",
}
PAGE_TEXTS = [["matrixword", "page", "one"], ["page", "two"], ["page", "three"]]
OK, NULL = "ok", "null"


@dataclass
class World:
    """Alice's folder "Shared" (shared with a viewer and an editor) and group G's folder
    "Shared" (G's members hold Viewer, Editor or Administrator): a person's *place* is the
    group's folder for members and Alice's for everyone else."""

    client: TestClient
    settings: Settings
    tokens: dict[str, str]
    users: dict[str, int]
    admin: str  # root's token: an Administrator outside the matrix, who prepares things
    group: int
    friend: int  # a bystander: shares and hand-overs go to them
    folders: dict[str, int]
    indexed: dict[str, int]
    pdf_hash: str
    pdf_bytes: bytes
    serial: itertools.count[int] = field(default_factory=itertools.count)

    # ---- where each person works
    def place(self, who: str) -> str:
        return "group" if who.startswith("member") else "alice"

    def folder(self, who: str) -> int:
        return self.folders[self.place(who)]

    def _owner(self, who: str) -> dict[str, int | None]:
        if self.place(who) == "group":
            return {"owner_user": None, "owner_group": self.group}
        return {"owner_user": self.users["owner"], "owner_group": None}

    def account(self, who: str) -> int:
        """The person's account (the friend's for someone without a token)."""
        return self.users.get(who, self.friend)

    def name(self, stem: str) -> str:
        return f"{stem}{next(self.serial)}"

    # ---- fresh objects, straight in the database
    def fresh_document(
        self, who: str, *, trashed: bool = False, status: str = "ready", mine: bool = False
    ) -> int:
        """A three-page document with a real PDF (its text and previews in place) in the
        person's place (``mine``: in their own Home instead); ``trashed``: in the trash."""
        owner = self._owner(who)
        parent = self.folder(who)
        if mine:
            owner = {"owner_user": self.account(who), "owner_group": None}
            parent = special(self.account(who))
        with database.connection_context(), database.atomic():
            node = Node.create(kind="document", title=self.name("doc"), parent=parent, **owner)
            Document.create(
                node=node, original_hash=self.pdf_hash, original_name="three.pdf",
                original_type="application/pdf", original_size=1, ocr_languages="en",
                ocr_mode="auto", ocr_engine="easyocr", status=status,
            )  # fmt: skip
            version = DocumentVersion.create(
                document=node, number=1, file_hash=self.pdf_hash, base_hash=self.pdf_hash,
                page_count=len(PAGE_TEXTS), has_text_layer=True, finalize_enqueued=True,
            )  # fmt: skip
            Page.insert_many(
                [
                    {
                        "version": version.id,
                        "number": number,
                        "width": 432,
                        "height": 144,
                        "status": "done",
                        "text": " ".join(words),
                        "source": "text_layer",
                    }
                    for number, words in enumerate(PAGE_TEXTS, start=1)
                ]
            ).execute()
            if trashed:
                Node.update(deleted_at=node.created_at, trashed_from=parent, parent=None).where(
                    Node.id == node.id
                ).execute()
            return int(node.id)

    def fresh_folder(self, who: str) -> int:
        with database.connection_context():
            return int(
                Node.create(
                    kind="folder", title=self.name("folder"), parent=self.folder(who),
                    **self._owner(who),
                ).id
            )  # fmt: skip

    def page(self, document: int, number: int = 1) -> Page:
        with database.connection_context():
            return (
                Page.select()
                .join(DocumentVersion)
                .where((DocumentVersion.document == document) & (Page.number == number))
                .get()
            )

    def version(self, document: int) -> int:
        with database.connection_context():
            return int(DocumentVersion.get(DocumentVersion.document == document).id)

    def tag(self, owner: str) -> int:
        """A fresh tag of ``owner`` (a kind of person)."""
        with database.connection_context():
            return int(Tag.create(name=self.name("tag"), owner_user=self.account(owner)).id)

    def place_tag(self, who: str) -> int:
        """A fresh tag of the owner of the person's place (Alice, or group G)."""
        with database.connection_context():
            return int(Tag.create(name=self.name("tag"), **self._owner(who)).id)

    def place_type(self, who: str) -> tuple[int, int]:
        """A fresh document type of the owner of the person's place: (type, field)."""
        with database.connection_context():
            kind = DocumentType.create(name=self.name("type"), **self._owner(who))
            custom = CustomField.create(document_type=kind, name="Amount", kind="text", position=0)
            return int(kind.id), int(custom.id)

    def tagged(self, who: str, tag: int) -> int:
        document = self.fresh_document(who)
        with database.connection_context():
            NodeTag.create(node=document, tag=tag)
        return document

    def doc_type(self, owner: str) -> tuple[int, int]:
        """A fresh document type of ``owner`` with one text field: (type, field)."""
        with database.connection_context():
            kind = DocumentType.create(name=self.name("type"), owner_user=self.account(owner))
            custom = CustomField.create(document_type=kind, name="Amount", kind="text", position=0)
            return int(kind.id), int(custom.id)

    def user(self) -> int:
        with database.connection_context():
            return int(create_user(self.name("victim"), TEST_PASSWORD).id)

    def new_group(self) -> str:
        made = call(self.client, self.admin, """mutation($n: String!) { createGroup(name: $n)
          { group { id } } }""", n=self.name("group"))  # fmt: skip
        return str(made["createGroup"]["group"]["id"])

    def role(self) -> str:
        made = call(self.client, self.admin, """mutation($n: String!) { createRole(name: $n,
          permissions: ["node.view"]) { role { id } } }""", n=self.name("role"))  # fmt: skip
        return str(made["createRole"]["role"]["id"])

    def share(self, who: str) -> str:
        """A fresh share, with the friend, of a fresh document in the person's place."""
        document = self.fresh_document(who)
        with database.connection_context():
            viewer = row_id(role_id("Viewer"))
            return gid("Share", Share.create(node=document, user=self.friend, role=viewer).id)

    def login_token(self, who: str) -> tuple[str, str]:
        """A fresh login of ``who``: (token, its id)."""
        token = login(self.client, USERNAMES.get(who, "friend"))
        with database.connection_context():
            row = (
                AccessToken.select()
                .where(AccessToken.user == self.account(who))
                .order_by(AccessToken.id.desc())
                .get()
            )
        return token, gid("AccessToken", row.id)

    # ---- asking
    def ask(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        return graphql(self.client, query, variables, token=self.tokens.get(who))

    def get(self, who: str, path: str) -> int:
        return int(self.client.get(path, headers=self.headers(who)).status_code)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}


def outcome(body: dict[str, Any], name: str) -> str:
    """A request's outcome: the code of its first error (top-level or in the payload), NULL
    for a field that answered null, else OK."""
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    value = body["data"][name]
    if value is None:
        return NULL
    if isinstance(value, dict) and value.get("errors"):
        return str(value["errors"][0]["code"])
    return OK


# ---- subscriptions over graphql-transport-ws


def subscribe(world: World, who: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    socket = world.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    ws = socket.__enter__()
    ws.send_json({"type": "connection_init",
                  "payload": {"Authorization": f"Bearer {world.tokens[who]}"}})  # fmt: skip
    assert ws.receive_json() == {"type": "connection_ack"}
    ws.send_json({"type": "subscribe", "id": "1",
                  "payload": {"query": query, "variables": variables or {}}})  # fmt: skip
    return socket, ws


def refused(world: World) -> str:
    """How a websocket without a token ends: ``closed <code> <error code>``."""
    with world.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        try:
            message = ws.receive_json()
        except WebSocketDisconnect as closed:
            return f"closed {closed.code} {closed.reason.split(':')[0]}"
    return f"answered {message}"


def first_message(world: World, who: str, query: str, name: str, **variables: Any) -> str:
    """What a subscription answers first: the error's code, or ``next: <what>`` where
    ``<what>`` is the event's ``kind`` or ``status`` (or OK); see :func:`refused`."""
    if who not in world.tokens:
        return refused(world)
    socket, ws = subscribe(world, who, query, variables)
    try:
        message = ws.receive_json()
    finally:
        socket.__exit__(None, None, None)
    if message["type"] == "error":
        return str(message["payload"][0]["extensions"]["code"])
    if message["type"] == "next":
        payload = message["payload"]
        if payload.get("errors"):
            return str(payload["errors"][0]["extensions"]["code"])
        event = payload["data"][name]
        return f"next {event.get('kind') or event.get('status') or OK}"
    return str(message["type"])


FEED = "subscription { documentsProgress { documentId message } }"


def feed_delivers(world: World, who: str, document: int) -> str:
    """Whether the person's feed of all progress delivers an event of ``document``: events of
    a document of their own mark where the feed stands (the first is sent until the feed is
    live; the last follows the one asked about); see :func:`refused`."""
    if who not in world.tokens:
        return refused(world)
    marker = world.fresh_document(who, mine=True)
    redis = redis_connection(world.settings)
    socket, ws = subscribe(world, who, FEED)
    stop = threading.Event()

    def warm_up() -> None:
        while not stop.is_set():
            publish(redis, _event(marker, "warm"))
            time.sleep(0.1)

    thread = threading.Thread(target=warm_up)
    thread.start()
    try:
        seen = [ws.receive_json()]
        stop.set()
        thread.join()
        publish(redis, _event(document, "asked"))
        publish(redis, _event(marker, "end"))
        while True:
            message = ws.receive_json()
            seen.append(message)
            if message["payload"]["data"]["documentsProgress"]["message"] == "end":
                break
    finally:
        stop.set()
        thread.join()
        socket.__exit__(None, None, None)
    asked = gid("Document", document)
    delivered = any(m["payload"]["data"]["documentsProgress"]["documentId"] == asked for m in seen)
    return "delivered" if delivered else "withheld"


def _event(document: int, message: str) -> ProgressEvent:
    return ProgressEvent(document_id=document, status="processing", pages_done=0,
                         pages_total=3, message=message)  # fmt: skip


# ---- preparing the world


def prepare(client: TestClient, settings: Settings, tmp: Path) -> World:
    """Everyone and everything the cells start from (see :class:`World`)."""

    def make_user(name: str) -> Any:
        with database.connection_context():
            return create_user(name, TEST_PASSWORD)

    _, admin = person(make_user, client, "root", "Administrator")
    tokens: dict[str, str] = {}
    users: dict[str, int] = {}
    roles = {"member Viewer": ("Viewer",), "member Editor": ("Editor",),
             "member Administrator": ("Administrator",), "superuser": ("Administrator",)}  # fmt: skip
    for who in SIGNED_IN:
        user, tokens[who] = person(make_user, client, USERNAMES[who], *roles.get(who, ()))
        users[who] = int(user.id)
    with database.connection_context():
        User.update(is_superuser=True).where(User.id == users["superuser"]).execute()
    friend = make_user("friend")
    members = [gid("User", users[who]) for who in SIGNED_IN if who.startswith("member")]
    made = call(client, admin, """mutation($m: [ID!]) { createGroup(name: "G", memberIds: $m)
      { group { id } } }""", m=members)  # fmt: skip
    group = row_id(made["createGroup"]["group"]["id"])
    call(client, admin, """mutation($m: [ID!]) { createGroup(name: "Other", memberIds: $m)
      { group { id } } }""", m=[gid("User", friend.id)])  # fmt: skip
    storage = Storage(settings.storage_dir)
    pdf = text_pdf(tmp / "three.pdf", PAGE_TEXTS)
    pdf_hash = storage.put(pdf)
    preview = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(preview, "JPEG")
    for number in range(1, len(PAGE_TEXTS) + 1):
        for size in PREVIEW_SIZES:
            storage.write_preview(pdf_hash, number, size, preview.getvalue())
    folders: dict[str, int] = {}
    with database.connection_context():
        for place, parent, owner in (
            ("alice", special(users["owner"]), {"owner_user": users["owner"]}),
            ("group", special(group_id=group), {"owner_user": None, "owner_group": group}),
        ):
            folders[place] = int(Node.create(kind="folder", title="Shared", parent=parent,
                                             **owner).id)  # fmt: skip
    world = World(client, settings, tokens, users, admin, group, int(friend.id), folders, {},
                  pdf_hash, pdf.read_bytes())  # fmt: skip
    for who, role in (("share viewer", "Viewer"), ("share editor", "Editor")):
        shared = call(client, tokens["owner"], """mutation($n: ID!, $r: ID!, $u: ID) {
          shareNode(nodeId: $n, roleId: $r, userId: $u) { errors { code } } }""",
            n=gid("Folder", folders["alice"]), r=role_id(role), u=gid("User", users[who]),
        )  # fmt: skip
        assert shared["shareNode"]["errors"] == [], shared
    # A change of the group's folder, for the audit log's history of it.
    renamed = call(client, tokens["member Editor"], """mutation($id: ID!) { renameNode(id: $id,
      title: "Shared") { errors { code } } }""", id=gid("Folder", folders["group"]))  # fmt: skip
    assert renamed["renameNode"]["errors"] == [], renamed
    # Indexed as a worker would index them after the shares (whose readers they record).
    for place, who in (("alice", "owner"), ("group", "member Editor")):
        world.indexed[place] = world.fresh_document(who)
        with database.connection_context():
            search_index(settings).replace_document(
                world.indexed[place], page_records(world.indexed[place])
            )
    return world


def multipart(world: World, who: str, query: str, variables: dict[str, Any], content: bytes) -> Any:
    """A GraphQL multipart request (one file, as ``variables.file``)."""
    operations = {"query": query, "variables": {"file": None, **variables}}
    response = world.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("upload.pdf", content, "application/octet-stream")},
        headers=world.headers(who),
    )
    return response.json()


Cell = Callable[[World, str], Any]


def registry() -> tuple[dict[str, Cell], Callable[[str], Callable[[Cell], Cell]]]:
    """A table of cells by field, and the decorator that files a cell under its field."""
    cells: dict[str, Cell] = {}

    def cell(name: str) -> Callable[[Cell], Cell]:
        def register(function: Cell) -> Cell:
            assert name not in cells, name
            cells[name] = function
            return function

        return register

    return cells, cell


def mutation(w: World, who: str, name: str, signature: str, arguments: str, **v: Any) -> str:
    """The outcome of ``mutation(signature) { name(arguments) { errors { code } } }``."""
    query = f"mutation({signature}) {{ {name}({arguments}) {{ errors {{ code }} }} }}"
    return outcome(w.ask(who, query, **v), name)


def seen(body: dict[str, Any], name: str, key: str, wanted: dict[str, str]) -> Any:
    """Which of ``wanted`` (label: value of ``key``) a list answer holds, or its error."""
    if body.get("errors"):
        return outcome(body, name)
    values = {item[key] for item in body["data"][name]}
    return tuple(label for label, value in wanted.items() if value in values)
