"""The HTTP handler: queries parsed and validated off the event loop, uploads always closed.

Parsing is bounded by the token limit and validation (the specification's rules and ours:
aliases, depth, cost) runs in a worker thread, so that a large or hostile document neither
freezes the event loop nor reaches the resolvers. A document refused here never builds a
context (no authentication, no database work). Websocket operations are parsed by
:func:`bounded_parser` and validated on the event loop, bounded by the same limits.
"""

from __future__ import annotations

from collections.abc import Collection
from contextvars import ContextVar
from types import GeneratorType
from typing import Any

import anyio.to_thread
from ariadne.asgi.handlers import GraphQLHTTPHandler
from ariadne.exceptions import HttpError
from ariadne.graphql import validate_query
from ariadne.types import GraphQLResult
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    get_operation_ast,
    validate,
)
from graphql.pyutils import is_awaitable
from graphql.utilities.type_info import TypeInfo
from starlette.requests import Request
from starlette.responses import Response

from archivist.graphql.plain_fields import PlainFieldsExecutionContext
from archivist.graphql.query_cache import ValidatedDocuments
from archivist.graphql.responses import (
    graphql_response,
    malformed,
    request_error,
    response_media_type,
)
from archivist.graphql.validation import QueryLimits, parse_bounded

# The document this request already validated in a thread: Ariadne validates again before it
# executes, and :func:`validate_unless_done` makes that second pass free.
_validated: ContextVar[DocumentNode | None] = ContextVar("archivist_validated", default=None)


# Whether values of a type are awaitable, by type (see :func:`awaitable_by_type`).
_AWAITABLE: dict[type, bool] = {}
_AWAITABLE_TYPES_KEPT = 1024


def awaitable_by_type(value: Any) -> bool:
    """graphql-core's ``is_awaitable``, answered from the value's type after its first time.

    The executor asks it of every value every resolver returns (thousands in a listing of a
    hundred items), and the default's ``hasattr(value, "__await__")`` is a failed attribute
    lookup for each plain value. Whether a type's values are awaitable is the type's (its
    ``__await__``); generator-based coroutines, the one case that depends on the value,
    still go to graphql-core's own check.
    """
    kind = type(value)
    known = _AWAITABLE.get(kind)
    if known is None:
        if isinstance(value, GeneratorType) or len(_AWAITABLE) >= _AWAITABLE_TYPES_KEPT:
            return is_awaitable(value)
        known = _AWAITABLE[kind] = hasattr(kind, "__await__")
    return known


class ArchivistExecutionContext(PlainFieldsExecutionContext):
    """graphql-core's execution with :func:`awaitable_by_type` and plain fields completed in
    one step (see :mod:`archivist.graphql.plain_fields`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = awaitable_by_type  # type: ignore[assignment]


def validate_unless_done(
    schema: GraphQLSchema,
    document_ast: DocumentNode,
    rules: Collection[type[ASTValidationRule]] | None = None,
    max_errors: int | None = None,
    type_info: TypeInfo | None = None,
) -> list[GraphQLError]:
    """Ariadne's ``query_validator``: graphql-core's ``validate``, skipped when already done."""
    if document_ast is _validated.get():
        return []
    # type_info: graphql-core 3.3 no longer takes it, and Ariadne never passes it to us.
    return validate(schema, document_ast, rules=rules, max_errors=max_errors)


def bounded_parser(limits: QueryLimits) -> Any:
    """Ariadne's ``query_parser``: parse with the token limit (QUERY_TOO_LARGE beyond)."""

    def parse_query(_context: Any, data: dict[str, Any]) -> DocumentNode:
        return parse_bounded(data["query"], limits)

    return parse_query


class ArchivistHTTPHandler(GraphQLHTTPHandler):
    """Ariadne's HTTP handler with the query limits checked in a thread, before anything runs.

    It also closes uploaded files after every request: a resolver closes the files it reads;
    this covers the requests where none runs (refused before execution: no token, a
    validation error), which would leave temporary files open.
    """

    def __init__(self, limits: QueryLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self.documents = ValidatedDocuments()

    async def handle_request(self, request: Request) -> Response:
        try:
            # A browser opening GraphiQL (?query= fills its editor) gets the page.
            browser = "text/html" in request.headers.get("accept", "")
            if request.method == "GET" and "query" in request.query_params and not browser:
                return await self.graphql_http_server(request)
            return await super().handle_request(request)
        finally:
            await request.close()

    async def extract_data_from_request(self, request: Request) -> Any:
        if request.method == "GET":
            return self.extract_data_from_get_request(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "multipart/form-data"):
            raise _UnsupportedMediaType()
        return await super().extract_data_from_request(request)

    async def graphql_http_server(self, request: Request) -> Response:
        """Run one operation and answer with the media type and status GraphQL over HTTP
        asks for (see :mod:`archivist.graphql.responses`)."""
        media_type = response_media_type(request.headers.get("accept"))
        try:
            data = await self.extract_data_from_request(request)
        except _UnsupportedMediaType:
            return request_error(
                "Send the request as application/json (or multipart/form-data for uploads).",
                media_type, 415,
            )  # fmt: skip
        except HttpError as error:
            return request_error(error.message or "Bad request.", media_type)
        problem = malformed(data)
        if problem is not None:
            return request_error(problem, media_type)
        try:
            _success, result = await self.execute_graphql_query(request, data)
        except _NotAQuery:
            response = request_error(
                "Only queries may be sent with GET; send mutations with POST.", media_type, 405
            )
            response.headers["Allow"] = "POST"
            return response
        return graphql_response(result, media_type)

    def _parse_and_validate(
        self, data: dict[str, Any], method: str = "POST"
    ) -> tuple[DocumentNode, list[GraphQLError]]:
        assert self.schema is not None
        query, variables = data["query"], data.get("variables")
        document = self.documents.document(query) or parse_bounded(query, self.limits)
        if method == "GET":
            operation = get_operation_ast(document, data.get("operationName"))
            if operation is not None and operation.operation != OperationType.QUERY:
                raise _NotAQuery()
        if self.documents.passed(query, variables):
            return document, []
        rules: Any = self.validation_rules
        if callable(rules):
            rules = rules(None, document, data)
        # Our limits first, alone: they are linear, while some of the specification's rules
        # (overlapping fields) grow with the square of the aliases a hostile document holds.
        errors = validate(self.schema, document, rules=list(rules or ()))
        if not errors:
            errors = validate_query(
                self.schema, document, rules, enable_introspection=self.introspection
            )
        if not errors:
            self.documents.remember(query, document, variables)
        return document, errors

    async def execute_graphql_query(
        self,
        request: Any,
        data: Any,
        *,
        context_value: Any = None,
        query_document: DocumentNode | None = None,
    ) -> GraphQLResult:
        query = data.get("query") if isinstance(data, dict) else None
        if query_document is not None or not isinstance(query, str) or not query:
            # Already parsed (a websocket operation), or malformed: Ariadne says what is wrong.
            return await super().execute_graphql_query(
                request, data, context_value=context_value, query_document=query_document
            )
        try:
            method = request.method if isinstance(request, Request) else "POST"
            document, errors = await anyio.to_thread.run_sync(
                self._parse_and_validate, data, method
            )
        except GraphQLError as error:
            errors = [error]
        if errors:
            return False, {"errors": [self.error_formatter(e, self.debug) for e in errors]}
        token = _validated.set(document)
        try:
            return await super().execute_graphql_query(
                request, data, context_value=context_value, query_document=document
            )
        finally:
            _validated.reset(token)


class _UnsupportedMediaType(Exception):
    """A POST whose body is neither JSON nor multipart (415)."""


class _NotAQuery(Exception):
    """A mutation or subscription sent with GET (405)."""
