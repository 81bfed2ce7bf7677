"""The ASGI application: GraphQL (HTTP and websocket) at ``/graphql``, GraphiQL, health,
the progress page at ``/ui/``.

Build it with :func:`create_app`; ``archivist serve`` runs it under Uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from ariadne.asgi import GraphQL
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from archivist.core.db import configure_database, database, run_db
from archivist.core.settings import Settings, get_settings, use_settings
from archivist.core.storage import Storage
from archivist.graphql.auth import (
    AuthenticatedWSHandler,
    require_authentication,
    wrap_root_fields,
)
from archivist.graphql.context import context_factory
from archivist.graphql.errors import (
    UNAVAILABLE_ERRORS,
    database_unavailable_response,
    format_error,
    quiet_expected_errors,
)
from archivist.graphql.explorer import ASSETS_PATH, OfflineGraphiQL, assets_directory
from archivist.graphql.files import file_routes
from archivist.graphql.handlers import (
    ArchivistExecutionContext,
    bounded_parser,
    validate_unless_done,
)
from archivist.graphql.headers import SecurityHeaders
from archivist.graphql.metrics import ApiMetrics, MeasuredHTTPHandler, metrics_route, note_operation
from archivist.graphql.progress import Broadcaster
from archivist.graphql.progress_page import ui_routes
from archivist.graphql.schema import build_schema
from archivist.graphql.uploads import UploadLimit
from archivist.graphql.validation import QueryLimits, validation_rules


def _database_ok() -> None:
    database.execute_sql("SELECT 1")


async def health(request: Request) -> JSONResponse:
    """Liveness and readiness: 200 when the database answers, 503 otherwise."""
    try:
        await run_db(_database_ok)
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


def cors(settings: Settings) -> list[Middleware]:
    """CORS for ``ARCHIVIST_CORS_ORIGINS`` (none: browsers allow this origin only).

    Tokens travel in the Authorization header, never in cookies, so no credentials mode is
    needed and any request header may be sent; a preflight is remembered for 10 minutes.
    """
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["Content-Disposition", "Retry-After"],
            max_age=600,
        )
    ]


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.query_max_depth,
        max_cost=settings.query_max_cost,
        max_aliases=settings.query_max_aliases,
        max_tokens=settings.query_max_tokens,
        max_length=settings.query_max_body,
    )


def create_graphql(
    settings: Settings, broadcaster: Broadcaster, metrics: ApiMetrics | None = None
) -> GraphQL:
    limits = query_limits(settings)
    metrics = metrics or ApiMetrics(settings)
    schema = build_schema()
    metrics.count_subscriptions(schema)
    # Over HTTP and websockets alike (a websocket's viewer comes from connection_init). The
    # operation is noted first, so that a request refused for its token is counted as its own.
    wrap_root_fields(schema, [note_operation, require_authentication])
    return GraphQL(
        schema,
        context_value=context_factory(settings, broadcaster),
        debug=settings.debug,
        explorer=OfflineGraphiQL(),
        error_formatter=format_error,
        query_parser=bounded_parser(limits),
        query_validator=validate_unless_done,
        validation_rules=validation_rules(limits),
        execution_context_class=ArchivistExecutionContext,
        http_handler=MeasuredHTTPHandler(limits, metrics=metrics),
        websocket_handler=AuthenticatedWSHandler(recheck_seconds=settings.ws_recheck_seconds),
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The Starlette app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    use_settings(settings)
    quiet_expected_errors()
    broadcaster = Broadcaster(settings.redis_url)
    metrics = ApiMetrics(settings)
    graphql_app = create_graphql(settings, broadcaster, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if database.obj is None:
            configure_database(settings.database_url)
        # Scratch folders of an API or worker killed mid-upload (workers sweep periodically).
        await asyncio.to_thread(Storage(settings.storage_dir).sweep_scratch)
        yield
        await broadcaster.close()
        if not database.is_closed():
            database.close()

    return Starlette(
        debug=settings.debug,
        # The database down: a coded 503 and one log line per outage, not a traceback each.
        exception_handlers={kind: database_unavailable_response for kind in UNAVAILABLE_ERRORS},
        middleware=[
            Middleware(SecurityHeaders),
            *cors(settings),
            Middleware(
                UploadLimit,
                max_bytes=settings.max_upload_bytes,
                max_body=settings.query_max_body,
            ),
        ],
        routes=[
            Route("/graphql", graphql_app.handle_request, methods=["GET", "POST", "OPTIONS"]),
            WebSocketRoute("/graphql", graphql_app.handle_websocket),
            Route("/health", health),
            Route("/metrics", metrics_route(settings, metrics)),
            *file_routes(settings),
            Mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="graphiql"),
            *ui_routes(),
        ],
        lifespan=lifespan,
    )
