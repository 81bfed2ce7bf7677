"""Authentication at the edges: a resolver middleware and the websocket handshake.

Every root field needs a viewer except the few in :data:`PUBLIC_FIELDS`; the middleware makes
that the default, so a new field cannot forget it. It wraps the root fields' resolvers when the
schema is built (:func:`wrap_root_fields`), not every field of every object: a listing of 100
items resolves thousands of fields, and a middleware on each would cost more than the data.
It also lets one request run ``login`` only once (aliases would otherwise buy any number of
password checks per request).

A websocket is checked when it is opened (``connection_init``), again before every operation
(``subscribe``), and every ``recheck_seconds`` (and at the token's expiry) while it is open:
once its token is revoked (logout), expired or its user deactivated, the socket is closed
with ``4403`` and the reason, and its running subscriptions end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from ariadne.asgi.handlers import GraphQLTransportWSHandler
from graphql import GraphQLResolveInfo, GraphQLSchema, default_field_resolver
from starlette.websockets import WebSocket, WebSocketDisconnected, WebSocketState

from archivist.core.db import run_db, utcnow
from archivist.core.errors import UserFacingError
from archivist.core.users import AuthenticationError, token_expiry
from archivist.graphql.context import (
    TOKEN_SCOPE_KEY,
    VIEWER_SCOPE_KEY,
    Context,
    authenticate,
    require_viewer,
    unauthenticated,
)
from archivist.graphql.payloads import user_errors

PUBLIC_FIELDS = frozenset({("Mutation", "login")})
# Password checks one request may ask for (argon2 is slow on purpose).
LOGINS_PER_REQUEST = 1
WATCH_SCOPE_KEY = "archivist.token_watch"

logger = logging.getLogger("archivist.graphql")


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
    if is_root and (info.parent_type.name, info.field_name) == ("Mutation", "login"):
        context: Context = info.context
        context.logins += 1
        if context.logins > LOGINS_PER_REQUEST:
            # In the payload, like every login error: the first login's answer still counts.
            return user_errors(
                UserFacingError("TOO_MANY_LOGINS", "A request may log in only once.")
            )
    return resolve(root, info, **kwargs)


Middleware = Callable[..., Any]


def wrap_root_fields(schema: GraphQLSchema, middleware: list[Middleware]) -> None:
    """Run ``middleware`` (graphql-core's signature: ``(resolve, root, info, **arguments)``,
    the first one outermost) around the resolver of every query and mutation field of
    ``schema``, which is changed in place: build it once per app."""
    for root in (schema.query_type, schema.mutation_type):
        if root is None:
            continue
        for field in root.fields.values():
            resolve = field.resolve or default_field_resolver
            for layer in reversed(middleware):
                resolve = _layered(layer, resolve)
            field.resolve = resolve


def _layered(layer: Middleware, resolve: Callable[..., Any]) -> Callable[..., Any]:
    def resolve_through(root: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        return layer(resolve, root, info, **arguments)

    return resolve_through


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


async def _close_forbidden(websocket: WebSocket, error: AuthenticationError) -> None:
    if WebSocketState.DISCONNECTED not in (websocket.client_state, websocket.application_state):
        await websocket.close(code=4403, reason=f"{error.code}: {error.message}"[:120])


class AuthenticatedWSHandler(GraphQLTransportWSHandler):
    """graphql-transport-ws that refuses a connection without a valid token, and ends it
    when the token ends.

    The refusal is the protocol's ``4403 Forbidden`` close, with the reason a person can act
    on (missing, invalid, expired or revoked token).
    """

    def __init__(self, *args: Any, recheck_seconds: float = 10, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recheck_seconds = recheck_seconds

    async def handle_websocket(self, websocket: WebSocket) -> None:
        try:
            await super().handle_websocket(websocket)
        finally:
            watch = websocket.scope.pop(WATCH_SCOPE_KEY, None)
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watch

    async def handle_websocket_message(
        self, websocket: WebSocket, message: dict, client_context: Any
    ) -> None:
        if websocket.application_state == WebSocketState.DISCONNECTED:
            return  # closed because the token ended: what the client sent since is moot
        try:
            await super().handle_websocket_message(websocket, message, client_context)
        except WebSocketDisconnected:
            if websocket.application_state != WebSocketState.DISCONNECTED:
                raise  # closed while answering: the close said why

    async def _token_still_good(self, websocket: WebSocket) -> bool:
        """Authenticate the socket's token again; close the socket (4403) when it ended."""
        token = websocket.scope.get(TOKEN_SCOPE_KEY)
        try:
            viewer, _ = await authenticate(f"Bearer {token}" if token else None)
            if viewer is None:
                raise unauthenticated()
        except AuthenticationError as error:
            await _close_forbidden(websocket, error)
            return False
        websocket.scope[VIEWER_SCOPE_KEY] = viewer  # group changes take effect too
        return True

    async def _watch_token(self, websocket: WebSocket, client_context: Any) -> None:
        """Check the token every ``recheck_seconds`` and at its expiry; end the socket after."""
        token = websocket.scope[TOKEN_SCOPE_KEY]
        while True:
            delay = float(self.recheck_seconds)
            try:
                expires_at = await run_db(token_expiry, token)
                if expires_at is not None:
                    left = (expires_at - utcnow()).total_seconds()
                    delay = min(delay, max(0.0, left) + 0.05)
                await asyncio.sleep(delay)
                still_good = await self._token_still_good(websocket)
            except Exception:  # the database is away: keep the socket, check again later
                logger.warning("Could not check a websocket's token", exc_info=True)
                await asyncio.sleep(delay)
                continue
            if not still_good:
                for operation_id in list(client_context.operations):
                    await self.stop_websocket_operation(websocket, operation_id, client_context)
                return

    async def handle_websocket_subscribe(
        self, websocket: WebSocket, data: Any, operation_id: str, client_context: Any
    ) -> None:
        if client_context.connection_acknowledged and not await self._token_still_good(websocket):
            return
        await super().handle_websocket_subscribe(websocket, data, operation_id, client_context)

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
        if client_context.connection_acknowledged:
            websocket.scope[WATCH_SCOPE_KEY] = asyncio.create_task(
                self._watch_token(websocket, client_context)
            )
