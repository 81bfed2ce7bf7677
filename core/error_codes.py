"""Every error code a client can meet, in one place, each with what it means.

A :class:`~archivist.core.errors.UserFacingError` refuses a code that is not listed here, and
the schema's ``ErrorCode`` enum lists the same codes with the same descriptions (a test holds
the three together: this registry, the schema, and the codes the code raises). The codes reach
clients as ``UserError.code`` in a mutation's payload, as ``extensions.code`` of a GraphQL
error, or as ``error`` in the JSON body of a file route's or the upload limit's answer.
"""

from __future__ import annotations

ERROR_CODES: dict[str, str] = {
    # Requests and authentication
    "UNAUTHENTICATED": "No bearer token came with a request that needs one.",
    "INVALID_TOKEN": "The token is malformed or unknown: log in again.",
    "TOKEN_EXPIRED": "The token has expired: log in again.",
    "TOKEN_REVOKED": "The token was revoked by logging out: log in again.",
    "INVALID_CREDENTIALS": "Wrong username or password (or the account is disabled).",
    "TOO_MANY_ATTEMPTS": "Too many failed logins; the message says when to try again.",
    "TOO_MANY_LOGINS": "A request may log in only once.",
    "BAD_REQUEST": "The query is not valid GraphQL for this schema (the message says why).",
    "INTERNAL_SERVER_ERROR": "Something failed on the server; the details are in its log.",
    "DATABASE_UNAVAILABLE": "The database cannot be reached right now; try again shortly.",
    "BODY_TOO_LARGE": "A request body (other than an upload) is larger than the limit.",
    # Query limits
    "QUERY_TOO_LARGE": "The query has too many tokens or characters.",
    "TOO_MANY_ALIASES": "The query uses more aliases than allowed.",
    "QUERY_TOO_DEEP": "The query nests fields deeper than allowed.",
    "QUERY_TOO_COSTLY": "The query would cost more than allowed: ask for fewer items or fields.",
    # Connections
    "INVALID_FIRST": "`first` is negative or above the connection's cap.",
    "INVALID_LAST": "`last` is negative or above the connection's cap.",
    "INVALID_PAGINATION": "The paging arguments do not go together (`first` with `last`...).",
    "INVALID_CURSOR": "The cursor was not given out by this connection in this order.",
    # Search
    "INVALID_QUERY": "The search query is malformed; the message says what is wrong.",
    "SEARCH_UNAVAILABLE": (
        "The search index cannot be reached right now (its host is down); try again shortly."
    ),
    # Lookups
    "NOT_FOUND": "Nothing with this id exists, or you may not see it (the two look the same).",
    "NOT_READY": "The page has not been rendered yet (file routes).",
    "UNKNOWN_FIELD": "No such custom field, or not one you may use.",
    # Accounts (command line)
    "INVALID_USERNAME": "A username is 1 to 150 characters, without spaces.",
    "USERNAME_TAKEN": "The username is already taken.",
    "WEAK_PASSWORD": "The password is too short.",
    "PASSWORD_REQUIRED": "No password was given and there is no terminal to ask for one.",
    "PASSWORD_MISMATCH": "The two passwords typed differ.",
    # Folders, trash, tags
    "INVALID_TITLE": "A title is 1 to 200 characters, without '/' or control characters.",
    "TITLE_TAKEN": "Something in the folder already has this title.",
    "SPECIAL_FOLDER": "Home and Inbox cannot be renamed, moved or deleted.",
    "NOT_A_FOLDER": "The id names a document where a folder is needed.",
    "NOT_A_DOCUMENT": "The id names a folder where a document is needed.",
    "IN_TRASH": "The folder is in the trash.",
    "NOT_IN_TRASH": "Only what is in the trash can be restored.",
    "MOVE_INTO_ITSELF": "A folder cannot go into itself or a folder inside it.",
    "OTHER_OWNER": "Folders and documents move only within one owner's tree.",
    "OWNER_MISMATCH": (
        "A folder or document carries only its owner's tags and document types (a user's or"
        " a group's)."
    ),
    "NOTHING_SELECTED": "Choose at least one folder or document.",
    "TOO_MANY": "More folders and documents than one zip may hold.",
    "INVALID_NAME": "A name is 1 to 100 characters long.",
    "INVALID_COLOR": "A colour looks like #1a2b3c.",
    "TAG_EXISTS": "You already have a tag with this name.",
    # Document types and custom fields
    "TYPE_EXISTS": "You already have a document type with this name.",
    "DUPLICATE_FIELD": "Two fields of one type have the same name.",
    "INVALID_KIND": "Not a custom field kind.",
    "NO_OPTIONS": "A select field needs its options.",
    "NO_DOCUMENT_TYPE": "Give the document a type before setting its fields.",
    "INVALID_VALUE": "The value does not fit the field's kind (or is not one of its options).",
    "FIELD_REQUIRED": "Ordering by a field needs the field's id.",
    "INVALID_ORDER": "Not an order children can be listed in.",
    # Uploads and processing
    "EMPTY_FILE": "The file is empty.",
    "UNSUPPORTED_TYPE": "Not a PDF, TIFF, JPEG or PNG (judged by content).",
    "ENCRYPTED": "The PDF needs a password (send it with the upload) or the one sent is wrong.",
    "BROKEN_PDF": "The PDF is damaged beyond repair.",
    "TOO_LARGE": "The file is larger than the upload limit.",
    "IMAGE_TOO_LARGE": "The image has more pixels than allowed.",
    "CORRUPT_IMAGE": "The image cannot be decoded.",
    "PAGE_OUT_OF_RANGE": "The file has no such page.",
    "TOO_MANY_PAGES": "The file has more pages than allowed.",
    "PAGE_TOO_LARGE": "A page is larger than allowed.",
    "PAGE_TOO_COMPLEX": "A page takes too long or too much memory to render.",
    "INVALID_OCR_MODE": "Not an OCR mode.",
    "INVALID_LANGUAGE": "Languages are ISO 639-1 codes such as en or de.",
    "UNSUPPORTED_LANGUAGE": "The OCR engine on this server cannot read this language.",
    "INVALID_ENGINE": "Not an OCR engine.",
    "INVALID_IDEMPOTENCY_KEY": "An idempotency key is 1 to 255 characters long.",
    "DUPLICATE": (
        "The owner already has a document with the same file (see duplicateOf); send"
        " allowDuplicate to keep both."
    ),
    "DOCUMENT_PROCESSING": "Wait until the document is processed.",
    "OLD_VERSION": "Only pages of the current version can be processed again.",
    # Page edits
    "NO_PAGES_SELECTED": "No pages were chosen.",
    "DUPLICATE_PAGE": "A page was chosen more than once.",
    "INCOMPLETE_PAGE_ORDER": "A new order must place every page once.",
    "CANNOT_DELETE_ALL_PAGES": "A document keeps at least one page.",
    "INVALID_ROTATION": "Pages turn by multiples of 90 degrees.",
    "SAME_DOCUMENT": "Pages move into another document, not the same one.",
    "TOO_FEW_DOCUMENTS": "Merging needs at least two documents.",
    # Added with the work queue window, file URLs, the change feed and the ways in
    "FORBIDDEN": "Only administrators may do this (the work queues and workers).",
    "URL_EXPIRED": "A signed file URL is past its expiry: ask for the URL again (urlsExpireAt).",
    "QUEUE_UNAVAILABLE": (
        "Redis (the work queues and the live feeds) is not configured or cannot be reached now."
    ),
    "UNKNOWN_QUEUE": "No work queue has this name.",
    "JOB_NOT_FOUND": "No failed job has this id.",
    "JOB_STALE": "The failed job's page is gone or was processed again since: discard the job.",
    "INVALID_INTERVAL": "The interval is outside its range (1 to 3600 seconds).",
    "INVALID_SEQUENCE": "Not a sequence this change feed gave out.",
    "INVALID_FOLDER": "The import's folder must start at Home or Inbox (command line).",
    "USER_NOT_FOUND": "There is no active user of this name (command line, consumption folder).",
    "USER_REQUIRED": (
        "Say whose documents these are: there is more than one user (command line, consumption"
        " folder)."
    ),
    # Added with groups, roles, shares and account administration
    "PERMISSION_DENIED": (
        "Your role (or the share's) does not allow this; the message names the permission."
    ),
    "UNKNOWN_PERMISSION": "No permission has this name (the `permissions` query lists them).",
    "NAME_TAKEN": "A group or role with this name exists already.",
    "BUILTIN_ROLE": "Built-in roles (Viewer, Editor, Administrator) cannot be changed or deleted.",
    "HAND_TO_REQUIRED": "Name exactly one user or one group to hand the documents to.",
    "SAME_OWNER": "Documents are handed to someone else than the account or group deleted.",
    "CANNOT_DEACTIVATE_SELF": "You cannot deactivate or delete your own account.",
    "INVALID_EXPIRY": "A token lives 1 to 3650 days.",
    "SHARE_TARGET_REQUIRED": "Share with exactly one user or one group, other than yourself.",
}


def check_code(code: str) -> str:
    """``code`` when it is registered; raises ValueError (a bug) otherwise."""
    if code not in ERROR_CODES:
        raise ValueError(f"error code {code} is not in archivist.core.error_codes")
    return code
