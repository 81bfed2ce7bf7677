"""The ASGI application: GraphQL (HTTP and websocket) at ``/graphql``, GraphiQL, health.

Build it with :func:`create_app`; ``archivist serve`` runs it under Uvicorn.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from ariadne.asgi import GraphQL
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from archivist.core.db import configure_database, database, run_db
from archivist.core.settings import Settings, get_settings, use_settings
from archivist.graphql.auth import AuthenticatedWSHandler, require_authentication
from archivist.graphql.context import context_factory
from archivist.graphql.errors import format_error, quiet_expected_errors
from archivist.graphql.explorer import ASSETS_PATH, OfflineGraphiQL, assets_directory
from archivist.graphql.files import file_routes
from archivist.graphql.progress import Broadcaster
from archivist.graphql.schema import build_schema
from archivist.graphql.uploads import ClosingHTTPHandler, UploadLimit
from archivist.graphql.validation import validation_rules


def _database_ok() -> None:
    database.execute_sql("SELECT 1")


async def health(request: Request) -> JSONResponse:
    """Liveness and readiness: 200 when the database answers, 503 otherwise."""
    try:
        await run_db(_database_ok)
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


def create_graphql(settings: Settings, broadcaster: Broadcaster) -> GraphQL:
    return GraphQL(
        build_schema(),
        context_value=context_factory(settings, broadcaster),
        debug=settings.debug,
        explorer=OfflineGraphiQL(),
        error_formatter=format_error,
        validation_rules=validation_rules(settings.query_max_depth),
        http_handler=ClosingHTTPHandler(middleware=[require_authentication]),
        websocket_handler=AuthenticatedWSHandler(),
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The Starlette app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    use_settings(settings)
    quiet_expected_errors()
    broadcaster = Broadcaster(settings.redis_url)
    graphql_app = create_graphql(settings, broadcaster)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if database.obj is None:
            configure_database(settings.database_url)
        yield
        await broadcaster.close()
        if not database.is_closed():
            database.close()

    return Starlette(
        debug=settings.debug,
        middleware=[Middleware(UploadLimit, max_bytes=settings.max_upload_bytes)],
        routes=[
            Route("/graphql", graphql_app.handle_request, methods=["GET", "POST", "OPTIONS"]),
            WebSocketRoute("/graphql", graphql_app.handle_websocket),
            Route("/health", health),
            *file_routes(settings),
            Mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="graphiql"),
        ],
        lifespan=lifespan,
    )
