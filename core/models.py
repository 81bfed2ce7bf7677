"""Peewee models: the database is the source of truth for everything Archivist knows.

Timestamps are naive UTC (see :func:`archivist.core.db.utcnow`). The tables are created and
changed by the numbered migrations in ``core/migrations``, never by ``create_tables``; a test
checks that the migrated schema matches these models.
"""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    Check,
    DecimalField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from archivist.core.db import (
    DateField,
    DateTimeField,
    IdField,
    LongTextField,
    database,
    utcnow,
)


class BaseModel(Model):
    id = IdField()  # never reused, see IdField

    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    username = CharField(max_length=150, unique=True)
    email = CharField(max_length=254, null=True)
    password_hash = CharField(max_length=255)
    is_superuser = BooleanField(default=False)
    is_active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "archivist_user"  # "user" is reserved in PostgreSQL


class Group(BaseModel):
    name = CharField(max_length=150, unique=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "archivist_group"  # "group" is reserved everywhere


class Membership(BaseModel):
    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    group = ForeignKeyField(Group, backref="memberships", on_delete="CASCADE")
    user_id: int
    group_id: int

    class Meta:
        indexes = ((("user", "group"), True),)


class Node(BaseModel):
    """A folder or a document, in one tree per owner (a user or a group)."""

    FOLDER = "folder"
    DOCUMENT = "document"
    HOME = "home"
    INBOX = "inbox"

    kind = CharField(max_length=16)
    title = CharField(max_length=255)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="CASCADE")
    owner_user = ForeignKeyField(User, null=True, backref="nodes", on_delete="CASCADE")
    owner_group = ForeignKeyField(Group, null=True, backref="nodes", on_delete="CASCADE")
    # "home" or "inbox" for the two folders every owner has; None for every other node.
    special = CharField(max_length=16, null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    # In the trash: when it was deleted, and the folder it was in (to restore it there).
    deleted_at = DateTimeField(null=True)
    trashed_from = IntegerField(null=True)
    # Peewee's foreign-key id attributes, declared for the type checker.
    parent_id: int | None
    owner_user_id: int | None
    owner_group_id: int | None

    class Meta:
        indexes = (
            (("owner_user", "special"), True),
            (("owner_group", "special"), True),
            (("parent", "title"), True),
            (("kind", "title"), False),  # folders by the start of their title (suggestions)
        )


# Tags and document types belong to exactly one owner: a user or a group (migration 0013).
ONE_OWNER = Check("(owner_user_id IS NULL) <> (owner_group_id IS NULL)")


class Tag(BaseModel):
    """A coloured label a user or a group (exactly one of them) puts on its folders and
    documents; a node carries only its owner's tags (see core/permissions.py)."""

    name = CharField(max_length=100)
    color = CharField(max_length=7, default="#888888")
    owner_user = ForeignKeyField(User, null=True, backref="tags", on_delete="CASCADE")
    owner_group = ForeignKeyField(Group, null=True, backref="tags", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    owner_user_id: int | None
    owner_group_id: int | None

    class Meta:
        indexes = ((("owner_user", "name"), True), (("owner_group", "name"), True))
        constraints = [ONE_OWNER]


class NodeTag(BaseModel):
    node = ForeignKeyField(Node, backref="node_tags", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, backref="node_tags", on_delete="CASCADE")
    node_id: int
    tag_id: int

    class Meta:
        indexes = ((("node", "tag"), True),)


class DocumentType(BaseModel):
    """A kind of document (Invoice, Contract) with an ordered list of custom fields, owned by
    a user or a group (exactly one of them); a document has only its owner's types."""

    name = CharField(max_length=100)
    owner_user = ForeignKeyField(User, null=True, backref="document_types", on_delete="CASCADE")
    owner_group = ForeignKeyField(Group, null=True, backref="document_types", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    owner_user_id: int | None
    owner_group_id: int | None

    class Meta:
        indexes = ((("owner_user", "name"), True), (("owner_group", "name"), True))
        constraints = [ONE_OWNER]


class CustomField(BaseModel):
    KINDS = ("text", "integer", "number", "monetary", "date", "boolean", "select", "url")

    document_type = ForeignKeyField(DocumentType, backref="fields", on_delete="CASCADE")
    name = CharField(max_length=100)
    kind = CharField(max_length=16)
    options = TextField(default="[]")  # JSON list of choices, for select
    position = IntegerField()
    document_type_id: int

    class Meta:
        indexes = ((("document_type", "name"), True),)


class CustomFieldValue(BaseModel):
    """One field's value on one document, in the column of its kind (so it sorts right)."""

    document = ForeignKeyField(Node, backref="field_values", on_delete="CASCADE")
    field = ForeignKeyField(CustomField, backref="values", on_delete="CASCADE")
    value_text = TextField(null=True)  # text, select, url; the currency of a monetary value
    value_number = DecimalField(
        max_digits=20, decimal_places=6, null=True
    )  # integer, number, monetary
    value_date = DateField(null=True)
    value_bool = BooleanField(null=True)
    document_id: int
    field_id: int

    class Meta:
        indexes = ((("document", "field"), True),)


class Document(BaseModel):
    """What a document node has beyond a folder: where it came from and how it is processed.

    ``status`` is the document's processing state; each page has its own (see :class:`Page`).
    """

    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"

    node = ForeignKeyField(Node, unique=True, backref="document_row", on_delete="CASCADE")
    original_hash = CharField(max_length=64)
    original_name = CharField(max_length=255)
    original_type = CharField(max_length=64)
    original_size = BigIntegerField()
    ocr_languages = CharField(max_length=64)  # comma-separated ISO 639-1 codes
    ocr_mode = CharField(max_length=8)  # auto, force or off
    ocr_engine = CharField(max_length=16)
    status = CharField(max_length=16, default=PROCESSING)
    error = TextField(null=True)
    document_type = ForeignKeyField(DocumentType, null=True, on_delete="SET NULL")
    # What the search index must hold (see core/index_state.py): every change that alters it
    # raises index_revision in its own transaction; index jobs record the revision and the
    # fingerprint they wrote. Behind (indexed < index) means index work is owed.
    index_revision = IntegerField(default=0)
    indexed_revision = IntegerField(default=0)
    index_requested_at = DateTimeField(null=True)
    indexed_fingerprint = CharField(max_length=64, null=True)
    node_id: int
    document_type_id: int | None

    class Meta:
        indexes = ((("original_hash",), False),)  # the duplicate check (core/ingestion)


class DocumentVersion(BaseModel):
    """An immutable PDF of the document; the newest one is the current one."""

    document = ForeignKeyField(Node, backref="versions", on_delete="CASCADE")
    number = IntegerField()
    file_hash = CharField(max_length=64)
    # The same PDF without the text layer we add: what processing again starts from.
    base_hash = CharField(max_length=64)
    page_count = IntegerField()
    has_text_layer = BooleanField(default=False)
    note = CharField(max_length=255, default="")
    # Set once, when the job that finishes this version has been enqueued (exactly once).
    finalize_enqueued = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    document_id: int

    class Meta:
        indexes = ((("document", "number"), True),)


class Page(BaseModel):
    """One page of one version: its size, text, words with boxes, and processing state.

    ``words`` is JSON: a list of [text, x0, y0, x1, y1, confidence] in PDF points from the
    page's top-left corner. ``lease_until`` is when a job working on the page must have
    renewed its claim by; past it, the reconciler hands the page to another worker.
    """

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"

    version = ForeignKeyField(DocumentVersion, backref="pages", on_delete="CASCADE")
    number = IntegerField()
    width = FloatField()
    height = FloatField()
    status = CharField(max_length=16, default=PENDING)
    error = TextField(null=True)
    text = LongTextField(default="")
    words = LongTextField(default="[]")
    language = CharField(max_length=64, null=True)
    engine = CharField(max_length=16, null=True)
    source = CharField(max_length=16, null=True)  # text_layer, ocr, or none
    job_id = CharField(max_length=64, null=True)
    worker = CharField(max_length=128, null=True)
    attempts = IntegerField(default=0)
    lease_until = DateTimeField(null=True)
    done_at = DateTimeField(null=True)
    # Degrees clockwise (0, 90, 180, 270) the page job found this page, as this version's file
    # shows it, must turn to be upright; its words are in the page as shown. The final step
    # writes the next version with the page turned, so the pages of that version have 0.
    turn = IntegerField(default=0)
    # The page's identity across its document's versions: the id of the row where it first
    # appeared (None: this row is that one). The API's Page.id (see :attr:`logical`).
    logical_id = IntegerField(null=True)
    version_id: int

    @property
    def logical(self) -> int:
        """The page's id across versions: the same in every version that carries it."""
        return int(self.logical_id or self.id)

    class Meta:
        indexes = ((("version", "number"), True), (("status", "lease_until"), False))


class AccessToken(BaseModel):
    """A bearer token; only its SHA-256 is stored, so a database leak reveals no token.

    A login's token has no ``name``; a named API token (for scripts) has one."""

    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)
    revoked_at = DateTimeField(null=True)
    name = CharField(max_length=100, null=True)
    user_id: int


class Role(BaseModel):
    """A named set of permissions (see :mod:`archivist.core.permissions` for the names).

    ``permissions`` holds the names separated by spaces, sorted. Built-in roles are made by
    migration 0012 and cannot be changed or deleted."""

    name = CharField(max_length=100, unique=True)
    permissions = TextField(default="")
    builtin = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    @property
    def permission_set(self) -> frozenset[str]:
        return frozenset(self.permissions.split())


class UserRole(BaseModel):
    """A role given to a user directly."""

    user = ForeignKeyField(User, backref="user_roles", on_delete="CASCADE")
    role = ForeignKeyField(Role, backref="user_roles", on_delete="CASCADE")
    user_id: int
    role_id: int

    class Meta:
        indexes = ((("user", "role"), True),)


class GroupRole(BaseModel):
    """A role every member of a group holds through the group."""

    group = ForeignKeyField(Group, backref="group_roles", on_delete="CASCADE")
    role = ForeignKeyField(Role, backref="group_roles", on_delete="CASCADE")
    group_id: int
    role_id: int

    class Meta:
        indexes = ((("group", "role"), True),)


class Share(BaseModel):
    """A folder or document shared with a user or a group (exactly one of them), with a role
    that says what they may do with it and everything below it."""

    node = ForeignKeyField(Node, backref="shares", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, backref="shares", on_delete="CASCADE")
    group = ForeignKeyField(Group, null=True, backref="shares", on_delete="CASCADE")
    role = ForeignKeyField(Role, backref="shares", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    node_id: int
    user_id: int | None
    group_id: int | None
    role_id: int
    created_by_id: int | None

    class Meta:
        indexes = ((("node", "user"), True), (("node", "group"), True))


class AuditEntry(BaseModel):
    """One recorded change or sign-in: append-only (nothing in the API updates or deletes it).

    Who is kept by id and by name (the name stays readable after the account is deleted);
    what it touched by plain ids, not foreign keys, so that history outlives its objects.
    ``details`` is JSON: old and new values where they are small."""

    at = DateTimeField(default=utcnow, index=True)
    actor_id = IntegerField(null=True, index=True)
    actor_name = CharField(max_length=150, default="")
    action = CharField(max_length=64)
    node_id = IntegerField(null=True, index=True)
    target_user_id = IntegerField(null=True)
    target_group_id = IntegerField(null=True)
    details = TextField(default="{}")


class LoginAttempt(BaseModel):
    """One login try; failures within a window throttle further tries for that username."""

    username = CharField(max_length=150)
    attempted_at = DateTimeField(default=utcnow)
    succeeded = BooleanField()
    remote_addr = CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("username", "attempted_at"), False),)


class LoginThrottle(BaseModel):
    """Failed logins counted in a window, per username from one address or per address.

    ``key`` is the SHA-256 of what is counted (see :mod:`archivist.core.users`), so that any
    username fits. Counting is one conditional UPDATE, atomic in every database.
    """

    key = CharField(max_length=64, unique=True)
    failures = IntegerField(default=0)
    window_started = DateTimeField()


class UploadKey(BaseModel):
    """An upload's idempotency key: the same key from the same user within a window gives the
    first upload's document again (see :mod:`archivist.core.upload_keys`). ``key`` is the
    SHA-256 of the client's key, so that any key fits."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    key = CharField(max_length=64)
    document = ForeignKeyField(Node, on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    user_id: int
    document_id: int

    class Meta:
        indexes = ((("user", "key"), True),)


class Migration(BaseModel):
    """Which numbered migrations have run."""

    number = IntegerField(unique=True)
    name = CharField(max_length=255)
    applied_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "archivist_migration"


MODELS: list[type[BaseModel]] = [
    User,
    Group,
    Membership,
    Node,
    Tag,
    NodeTag,
    DocumentType,
    CustomField,
    CustomFieldValue,
    Document,
    DocumentVersion,
    Page,
    AccessToken,
    Role,
    UserRole,
    GroupRole,
    Share,
    AuditEntry,
    LoginAttempt,
    LoginThrottle,
    UploadKey,
    Migration,
]
