"""Every error code in one registry, the schema's ErrorCode enum, and nothing else raised;
messages in a client's words, not Python's."""

from __future__ import annotations

import re

import pytest
from graphql import GraphQLEnumType
from starlette.testclient import TestClient
from support import REPO, graphql, login

from archivist.core.document_errors import DocumentErrorCode
from archivist.core.error_codes import ERROR_CODES
from archivist.core.errors import UserFacingError
from archivist.core.page_ops import PageSelectionErrorCode
from archivist.graphql import errors
from archivist.graphql.schema import build_schema

SOURCES = [
    path
    for folder in ("core", "graphql", "jobs", "indexes")
    for path in (REPO / folder).rglob("*.py")
    if "migrations" not in path.parts and path.name != "error_codes.py"
]
# Where a code is written: raised, put in a GraphQL error or a JSON answer, or named as one.
CODE_SITES = [
    re.compile(r"(?:UserFacingError|AuthenticationError|__init__)\(\s*\"([A-Z_]+)\""),
    re.compile(r"\"code\":\s*\"([A-Z_]+)\""),
    re.compile(r"\"error\":\s*\"([A-Z_]+)\""),
    re.compile(r"code\s*=\s*[^\n]*\"([A-Z][A-Z_]+)\"\s*$", re.MULTILINE),
    re.compile(r"CODES = \{[^}]*\}", re.DOTALL),
]


def codes_in_the_code() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for pattern in CODE_SITES:
            for match in pattern.finditer(text):
                if match.groups():
                    found.add(match.group(1))
                else:  # a table of codes: its values
                    found.update(re.findall(r":\s*\"([A-Z][A-Z_]+)\"", match.group(0)))
    found.update(code.value for code in DocumentErrorCode)
    found.update(code.value for code in PageSelectionErrorCode)
    found.update((errors.INTERNAL, errors.DATABASE_UNAVAILABLE))
    return found


def test_every_code_raised_is_registered_and_every_registered_code_is_used() -> None:
    raised = codes_in_the_code()
    assert raised - set(ERROR_CODES) == set(), "raised but not in core/error_codes.py"
    text = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)
    unused = {code for code in ERROR_CODES if f'"{code}"' not in text}
    assert unused == set(), "registered but never raised"


def test_an_unregistered_code_is_a_bug() -> None:
    with pytest.raises(ValueError, match="NO_SUCH_CODE"):
        UserFacingError("NO_SUCH_CODE", "x")


def test_the_schema_lists_every_code_with_its_meaning() -> None:
    enum = build_schema().type_map["ErrorCode"]
    assert isinstance(enum, GraphQLEnumType)
    assert {name: value.description for name, value in enum.values.items()} == ERROR_CODES
    user_error = build_schema().type_map["UserError"]
    assert str(user_error.fields["code"].type) == "ErrorCode!"  # type: ignore[union-attr]


def test_messages_speak_graphql_not_python(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    body = graphql(
        client,
        'mutation($f: [CustomFieldInput!]!) { createDocumentType(name: "T", fields: $f) { errors { code } } }',
        {"f": [{"name": None, "kind": "TEXT"}]},
        token=token,
    )
    message = body["errors"][0]["message"]
    assert "None" not in message and "null" in message, message
    create = "mutation($t: String!) { createFolder(title: $t) { errors { message } } }"
    graphql(client, create, {"t": 'It\'s "mine"'}, token=token)
    again = graphql(client, create, {"t": 'It\'s "mine"'}, token=token)
    assert again["data"]["createFolder"]["errors"] == [
        {"message": "There is already something called 'It's \"mine\"' in that folder."}
    ]
    tag = 'mutation { createTag(name: "x\\\\y") { errors { message } } }'
    graphql(client, tag, token=token)
    assert graphql(client, tag, token=token)["data"]["createTag"]["errors"] == [
        {"message": "You already have a tag called 'x\\y'."}
    ]
