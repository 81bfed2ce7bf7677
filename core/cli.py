"""``archivist``: the command line (serve, worker, run, import, consume, migrate, createuser).

``serve`` and ``worker`` load the API and the job runner by dotted name, so that ``core`` never
imports ``graphql`` or ``jobs`` (see ARCHITECTURE.md). Every start-up check that fails prints
one line naming the setting at fault and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import importlib
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from archivist.core.db import check_database, configure_database, database, sqlite_path
from archivist.core.errors import UserFacingError
from archivist.core.file_modes import make_data_private, use_private_umask
from archivist.core.settings import Settings, SettingsError, load_settings, use_settings

EXIT_BAD_SETTING = 2
EXIT_UNAVAILABLE = 3  # a service the command needs (a remote search index) cannot be reached


def _settings() -> Settings:
    use_private_umask()  # before anything is written: see core/file_modes.py
    settings = load_settings()
    use_settings(settings)
    database_file = sqlite_path(settings.database_url)
    make_data_private(
        settings.data_dir,
        Path(database_file) if database_file and database_file != ":memory:" else None,
    )
    return settings


def _open_database(settings: Settings) -> None:
    configure_database(settings.database_url)
    check_database()


def cmd_migrate(args: argparse.Namespace) -> int:
    from archivist.core.accounts.roles import ensure_builtin_roles
    from archivist.core.migrations import migrate

    settings = _settings()
    _open_database(settings)
    with database.connection_context():
        applied = migrate(database.obj)
        ensure_builtin_roles()  # a release may give the built-in roles new permissions
    print(f"Applied {', '.join(applied)}." if applied else "The database is up to date.")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password is not None:
        return str(args.password)
    if not sys.stdin.isatty():
        raise UserFacingError(
            "PASSWORD_REQUIRED", "Give --password or --password-stdin (no terminal to ask on)."
        )
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise UserFacingError("PASSWORD_MISMATCH", "The two passwords differ.")
    return first


def cmd_createuser(args: argparse.Namespace) -> int:
    from archivist.core.users import create_user

    settings = _settings()
    _open_database(settings)
    username = args.username
    if username is None:
        if not sys.stdin.isatty():
            print("archivist createuser: give --username", file=sys.stderr)
            return EXIT_BAD_SETTING
        username = input("Username: ")
    try:
        password = _read_password(args)
        with database.connection_context():
            user = create_user(username, password, email=args.email, superuser=args.superuser)
    except UserFacingError as error:
        print(f"archivist createuser: {error.message}", file=sys.stderr)
        return 1
    kind = "superuser" if user.is_superuser else "user"
    print(f"Created {kind} {user.username!r} with a Home and an Inbox folder.")
    return 0


def ensure_admin(settings: Settings) -> None:
    """On first run (no users at all), create ``admin``; print a generated password once."""
    from archivist.core.users import create_user, user_count

    with database.connection_context():
        if user_count() > 0:
            return
        password = settings.admin_password or secrets.token_urlsafe(12)
        create_user("admin", password, superuser=True)
    if settings.admin_password:
        print("Created the user 'admin' with the password from ARCHIVIST_ADMIN_PASSWORD.")
    else:
        print(f"Created the user 'admin' with the password {password!r} (shown only this once).")


def _startup_checks(settings: Settings, *, need_redis: bool) -> None:
    from archivist.core.queue import check_redis

    _open_database(settings)
    if settings.redis_url is not None or need_redis:
        check_redis(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    _startup_checks(settings, need_redis=False)
    if settings.redis_url is None:
        print(
            "archivist serve: ARCHIVIST_REDIS_URL is not set: uploads will wait until a "
            "worker and Redis are running.",
            file=sys.stderr,
        )
    uvicorn.run(
        "archivist.graphql.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        log_level="debug" if settings.debug else "info",
        # A websocket message carries one operation: the same limit as a plain request body.
        ws_max_size=settings.query_max_body,
    )
    return 0


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.threads is not None:
        settings = dataclasses.replace(settings, ocr_threads=args.threads)
    _startup_checks(settings, need_redis=True)
    worker = importlib.import_module("archivist.jobs.worker")
    worker.run(settings, burst=args.burst, name=args.name)
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from archivist.core.queue import redis_connection
    from archivist.core.reconcile import reconcile

    settings = _settings()
    _startup_checks(settings, need_redis=True)
    with database.connection_context():
        report = reconcile(settings, redis_connection(settings))
    print(f"Reconciled: {report}.")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from datetime import datetime

    from archivist.core.search import reindex

    settings = _settings()
    _open_database(settings)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print(f"archivist reindex: --since {args.since!r} is not a date", file=sys.stderr)
            return EXIT_BAD_SETTING
    with database.connection_context():
        count = reindex(settings, since)
    where = settings.xapian_remote or settings.index_dir
    print(f"Indexed {count} document(s) into {settings.search_backend} at {where}.")
    return 0


def cmd_index_check(args: argparse.Namespace) -> int:
    from archivist.core.search import check_index

    settings = _settings()
    _open_database(settings)
    with database.connection_context():
        report = check_index(settings, repair=args.repair)
    verb = "Repaired" if args.repair and not report.ok else "Index check"
    print(f"{verb}: {report}.")
    return 0 if report.ok or args.repair else 1


def cmd_index_compact(args: argparse.Namespace) -> int:
    from archivist.core.search import compact_index

    settings = _settings()
    if not compact_index(settings):
        print(
            "archivist index compact: a remote index cannot be compacted from here; on the"
            " index host, stop xapian-tcpsrv, run `xapian-compact FOLDER FOLDER.new`, put"
            " FOLDER.new in FOLDER's place and start the server again",
            file=sys.stderr,
        )
        return 1
    print(f"Compacted the {settings.search_backend} index at {settings.index_dir}.")
    return 0


def _with_embedded_redis(settings: Settings) -> Settings:
    """Without ARCHIVIST_REDIS_URL, the Redis that ``archivist run`` started on this data
    directory, when it is running (so that work is queued at once and progress is heard)."""
    if settings.redis_url is not None:
        return settings
    from redis import Redis
    from redis.exceptions import RedisError

    socket = settings.data_dir / "redis" / "redis.sock"
    if not socket.exists():
        return settings
    url = f"unix://{socket}"
    try:
        Redis.from_url(url, socket_timeout=2).ping()
    except RedisError:
        return settings
    return dataclasses.replace(settings, redis_url=url)


def cmd_import(args: argparse.Namespace) -> int:
    from archivist.core.ingestion.importer import ImportRequest, find_user, run_import
    from archivist.core.ingestion.progress_bars import (
        EventListener,
        ProgressBars,
        summary,
        wait_for_documents,
    )
    from archivist.core.queue import redis_connection

    settings = _with_embedded_redis(_settings())
    _startup_checks(settings, need_redis=False)
    request = ImportRequest(
        paths=tuple(Path(path) for path in args.paths),
        folder=args.folder,
        tags=tuple(args.tag or ()),
        languages=tuple(args.language) if args.language else None,
        ocr_mode=args.ocr_mode,
        recursive=args.recursive,
        allow_duplicate=args.allow_duplicates,
    )
    redis = redis_connection(settings) if settings.redis_url else None
    bars = ProgressBars(sys.stdout, wait=args.wait)
    bars.listener = listener = EventListener(redis if args.wait else None)
    try:
        with database.connection_context():
            report = run_import(settings, find_user(args.user), request, redis, bars)
            if args.wait:
                wait_for_documents(bars, listener)
    except UserFacingError as error:
        print(f"archivist import: {error.message}", file=sys.stderr)
        return EXIT_BAD_SETTING
    finally:
        listener.close()
    print("\n".join(summary(report, bars)), flush=True)
    return 1 if report.refused or (args.wait and bars.failed_documents()) else 0


def cmd_consume(args: argparse.Namespace) -> int:
    from archivist.core.ingestion.consume import ConsumeError, run_consumer

    settings = _with_embedded_redis(_settings())
    _startup_checks(settings, need_redis=False)
    try:
        run_consumer(settings, once=args.once)
    except ConsumeError as error:
        print(f"archivist consume: {error}", file=sys.stderr)
        return EXIT_BAD_SETTING
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from archivist.core.supervisor import run_embedded

    settings = _settings()
    return run_embedded(settings, workers=args.workers, ensure_admin=ensure_admin)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archivist",
        description="Archivist document management system. Settings come from ARCHIVIST_* "
        "environment variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the GraphQL API under Uvicorn")
    serve.add_argument("--host", help="address to listen on (default: ARCHIVIST_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: ARCHIVIST_PORT)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run a worker for background jobs")
    worker.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    worker.add_argument("--name", help="worker name (default: RQ picks a unique one)")
    worker.add_argument(
        "--threads",
        type=_positive_int,
        help="CPU threads for this worker's OCR (default ARCHIVIST_OCR_THREADS, else all "
        "cores; with N workers on one machine give each cores/N)",
    )
    worker.set_defaults(handler=cmd_worker)

    run = commands.add_parser(
        "run",
        help="migrate, create the first admin, start Redis (unless ARCHIVIST_REDIS_URL is set), "
        "workers and the API; Ctrl-C stops them all",
    )
    run.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    run.set_defaults(handler=cmd_run)

    importing = commands.add_parser(
        "import",
        help="import files and folder trees as a user's documents (duplicates are skipped)",
        description="Import files (PDF, TIFF, JPEG, PNG) and, with --recursive, folder trees "
        "(kept as folders). A file whose content the user already has is skipped, so running "
        "the same import again imports only what is new. Exit status 1 when a file was refused.",
    )
    importing.add_argument("paths", nargs="+", metavar="PATH", help="files and folders")
    importing.add_argument("--user", help="whose documents (default: the only user there is)")
    importing.add_argument(
        "--folder",
        default="Inbox",
        help="where, from Home or Inbox, e.g. Home/Taxes (made where missing; default Inbox)",
    )
    importing.add_argument(
        "--tag", action="append", help="tag every imported document (repeatable; made if new)"
    )
    importing.add_argument(
        "--language",
        action="append",
        help="OCR language, ISO 639-1 (repeatable; default ARCHIVIST_OCR_LANGUAGES)",
    )
    importing.add_argument(
        "--ocr-mode",
        choices=("auto", "force", "off"),
        default="auto",
        help="auto: a page's own text where usable, else OCR (default); force; off",
    )
    importing.add_argument("--recursive", "-r", action="store_true", help="import folders")
    importing.add_argument(
        "--allow-duplicates", action="store_true", help="import files already there as well"
    )
    importing.add_argument(
        "--wait", action="store_true", help="wait until every page is processed, with progress"
    )
    importing.set_defaults(handler=cmd_import)

    consume = commands.add_parser(
        "consume",
        help="watch ARCHIVIST_CONSUME_DIR and import every file put there "
        "(archivist run starts it when the setting is there)",
    )
    consume.add_argument(
        "--once", action="store_true", help="take what is there now (settled or not), then exit"
    )
    consume.set_defaults(handler=cmd_consume)

    reconcile = commands.add_parser(
        "reconcile",
        help="re-enqueue work the database says is unfinished but no job is doing "
        "(workers also do this every ARCHIVIST_RECONCILE_INTERVAL seconds)",
    )
    reconcile.set_defaults(handler=cmd_reconcile)

    reindex = commands.add_parser(
        "reindex", help="rebuild the search index from the database (e.g. after switching engine)"
    )
    reindex.add_argument("--since", help="only documents changed since this date (YYYY-MM-DD)")
    reindex.set_defaults(handler=cmd_reindex)

    index = commands.add_parser("index", help="search index maintenance")
    index_commands = index.add_subparsers(dest="index_command", required=True, metavar="COMMAND")
    check = index_commands.add_parser(
        "check", help="compare the index with the database; exit 1 when they differ"
    )
    check.add_argument("--repair", action="store_true", help="fix what differs")
    check.set_defaults(handler=cmd_index_check)
    compact = index_commands.add_parser(
        "compact",
        help="rewrite the index in its smallest, fastest form (searches go on meanwhile)",
    )
    compact.set_defaults(handler=cmd_index_compact)

    migrate = commands.add_parser("migrate", help="bring the database to the current schema")
    migrate.set_defaults(handler=cmd_migrate)

    createuser = commands.add_parser("createuser", help="create a user (asks what is missing)")
    createuser.add_argument("--username")
    createuser.add_argument("--email")
    createuser.add_argument("--password", help="the password (visible in `ps`; prefer stdin)")
    createuser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    createuser.add_argument("--superuser", action="store_true", help="may administer users")
    createuser.set_defaults(handler=cmd_createuser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SettingsError as error:
        print(f"archivist {args.command}: {error}", file=sys.stderr)
        return EXIT_BAD_SETTING
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        from archivist.indexes import IndexUnavailable  # not at the top: it loads Xapian

        if isinstance(error, IndexUnavailable):
            print(f"archivist {args.command}: {error}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        raise


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
