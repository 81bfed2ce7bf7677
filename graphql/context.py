"""The context every resolver sees: settings, the request, and who is asking.

The bearer token comes from the HTTP ``Authorization`` header or, for websockets, from the
``connection_init`` payload (checked once per connection by the websocket handler). A bad token
does not fail the request by itself: fields that need a viewer raise the stored error, so that
``login`` still works with a stale header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from starlette.requests import HTTPConnection

from archivist.core.db import run_db
from archivist.core.settings import Settings
from archivist.core.users import AuthenticationError, Viewer, authenticate_token

VIEWER_SCOPE_KEY = "archivist.viewer"
TOKEN_SCOPE_KEY = "archivist.token"


@dataclass
class Context:
    request: HTTPConnection
    settings: Settings
    broadcaster: Any
    viewer: Viewer | None = None
    token: str | None = None
    auth_error: AuthenticationError | None = None
    logins: int = 0  # login fields run in this request (see archivist.graphql.auth)
    loaders: dict[str, Any] = field(default_factory=dict)
    url_expiry: int | None = None  # of the signed file URLs in this response (Unix seconds)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value; raises for another scheme."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "INVALID_TOKEN", "The Authorization header must read 'Bearer <token>'."
        )
    return token.strip()


async def authenticate(authorization: str | None) -> tuple[Viewer | None, str | None]:
    """Resolve an Authorization value to (viewer, token); raises AuthenticationError."""
    token = bearer_token(authorization)
    if token is None:
        return None, None
    return await run_db(authenticate_token, token), token


def context_factory(settings: Settings, broadcaster: Any) -> Any:
    """Ariadne's ``context_value`` callable for this app."""

    async def get_context(request: HTTPConnection, _data: Any = None) -> Context:
        if request.scope["type"] == "websocket":
            # The websocket handler authenticated connection_init and left the viewer here.
            return Context(
                request,
                settings,
                broadcaster,
                viewer=request.scope.get(VIEWER_SCOPE_KEY),
                token=request.scope.get(TOKEN_SCOPE_KEY),
            )
        context = Context(request, settings, broadcaster)
        try:
            context.viewer, context.token = await authenticate(request.headers.get("authorization"))
        except AuthenticationError as error:
            context.auth_error = error
        return context

    return get_context


def unauthenticated() -> AuthenticationError:
    return AuthenticationError(
        "UNAUTHENTICATED",
        "Authentication required: send 'Authorization: Bearer <token>' "
        "(the login mutation gives you a token).",
    )


def require_viewer(info: GraphQLResolveInfo) -> Viewer:
    """The viewer of this request; raises the GraphQL error a client should see otherwise."""
    context: Context = info.context
    if context.viewer is not None:
        return context.viewer
    error = context.auth_error or unauthenticated()
    raise GraphQLError(error.message, original_error=error, extensions={"code": error.code})
