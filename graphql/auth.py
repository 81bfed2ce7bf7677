"""Authentication at the edges: a resolver middleware and the websocket handshake.

Every root field needs a viewer except the few in :data:`PUBLIC_FIELDS`; the middleware makes
that the default, so a new field cannot forget it. Subscriptions are checked when the socket
is opened (``connection_init``), before any operation runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ariadne.asgi.handlers import GraphQLTransportWSHandler
from graphql import GraphQLResolveInfo
from starlette.websockets import WebSocket, WebSocketState

from archivist.core.users import AuthenticationError
from archivist.graphql.context import (
    TOKEN_SCOPE_KEY,
    VIEWER_SCOPE_KEY,
    authenticate,
    require_viewer,
    unauthenticated,
)

PUBLIC_FIELDS = frozenset({("Mutation", "login")})


def require_authentication(
    resolve: Callable[..., Any], root: Any, info: GraphQLResolveInfo, **kwargs: Any
) -> Any:
    """GraphQL middleware: a root field other than a public one needs a viewer."""
    schema = info.schema
    is_root = info.parent_type in (schema.query_type, schema.mutation_type)
    if (
        is_root
        and not info.field_name.startswith("__")
        and (info.parent_type.name, info.field_name) not in PUBLIC_FIELDS
    ):
        require_viewer(info)
    return resolve(root, info, **kwargs)


def _authorization_from_payload(payload: Any) -> str | None:
    """The Authorization value a client put in ``connection_init`` (several spellings)."""
    if not isinstance(payload, dict):
        return None
    for key in ("Authorization", "authorization"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    headers = payload.get("headers")
    if isinstance(headers, dict):
        return _authorization_from_payload(headers)
    if isinstance(payload.get("token"), str):
        return f"Bearer {payload['token']}"
    return None


class AuthenticatedWSHandler(GraphQLTransportWSHandler):
    """graphql-transport-ws that refuses a connection without a valid token.

    The refusal is the protocol's ``4403 Forbidden`` close, with the reason a person can act
    on (missing, invalid, expired or revoked token).
    """

    async def handle_websocket_connection_init_message(
        self, websocket: WebSocket, message: dict, client_context: Any
    ) -> None:
        if client_context.connection_init_received:
            await websocket.close(code=4429)  # protocol: too many initialisation requests
            return
        try:
            viewer, token = await authenticate(_authorization_from_payload(message.get("payload")))
            if viewer is None:
                raise unauthenticated()
        except AuthenticationError as error:
            client_context.connection_init_received = True
            if websocket.application_state != WebSocketState.DISCONNECTED:
                await websocket.close(code=4403, reason=f"{error.code}: {error.message}"[:120])
            return
        websocket.scope[VIEWER_SCOPE_KEY] = viewer
        websocket.scope[TOKEN_SCOPE_KEY] = token
        await super().handle_websocket_connection_init_message(websocket, message, client_context)
