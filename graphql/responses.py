"""GraphQL over HTTP: which media type an answer has and which status code it carries.

Archivist follows the GraphQL-over-HTTP specification (checked by graphql-http's audit):

- The client picks the media type with ``Accept``: ``application/graphql-response+json``
  when it prefers that, otherwise ``application/json`` (also for ``*/*`` or no ``Accept``).
- A request that is not a well-formed GraphQL-over-HTTP request (a body that is not JSON,
  not an object, a missing or non-string ``query``, ``variables`` or ``extensions`` that are
  not objects) is 400 either way: nothing was parsed or run.
- ``application/json``: every other answer is 200, errors or not (parse and validation
  errors, the query limits, variable coercion, field errors, a missing token). Clients read
  ``errors[].extensions.code``.
- ``application/graphql-response+json``: a request error (the document does not parse or
  validate, a limit refused it, its variables do not fit: no ``data`` entry) is 400; once
  execution started (``data`` present, even null) it is 200.

A request error has no ``data`` entry in either media type, as the GraphQL specification asks.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
BAD_REQUEST = "BAD_REQUEST"


def response_media_type(accept: str | None) -> str:
    """The media type to answer an ``Accept`` header with (its highest ``q`` we can give;
    on a tie the first listed)."""
    best, best_q = JSON, 0.0
    for part in (accept or "").split(","):
        kind, *params = (field.strip() for field in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = kind.lower()
        offer = GRAPHQL_RESPONSE if kind == GRAPHQL_RESPONSE else JSON
        if kind in (GRAPHQL_RESPONSE, JSON, "application/*", "*/*") and q > best_q:
            best, best_q = offer, q
    return best


def malformed(data: Any) -> str | None:
    """What makes ``data`` (a decoded request body) not a GraphQL-over-HTTP request; None
    when it is one."""
    if not isinstance(data, dict):
        return "The request body must be a JSON object (batches are not supported)."
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        return "The request needs a 'query': a GraphQL document as a string."
    for key, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            wanted = "an object" if kind is dict else "a string"
            return f"'{key}' must be {wanted} or null."
    return None


def request_error(message: str, media_type: str, status: int = 400) -> JSONResponse:
    """A refusal before anything was parsed: ``status``, a coded error, no ``data``."""
    body = {"errors": [{"message": message, "extensions": {"code": BAD_REQUEST}}]}
    return JSONResponse(body, status, media_type=media_type)


def graphql_response(result: dict[str, Any], media_type: str) -> JSONResponse:
    """The answer to a request that was parsed (and maybe run), with the status the module
    docstring gives."""
    if result.get("data") is None and "data" in result:
        # No error has a path: execution never started (variables that do not fit, an
        # unknown operation name). That is a request error: no data entry.
        errors = result.get("errors") or []
        if errors and not any(error.get("path") for error in errors):
            result = {key: value for key, value in result.items() if key != "data"}
    status = 400 if media_type == GRAPHQL_RESPONSE and "data" not in result else 200
    return JSONResponse(result, status, media_type=media_type)
