"""Settings: every knob comes from an ``ARCHIVIST_*`` environment variable, read here only.

A bad value raises :class:`SettingsError` whose message is one line naming the variable, so
that start-up can stop with exactly that line.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PREFIX = "ARCHIVIST_"

DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")
SEARCH_BACKENDS = ("xapian", "whoosh")
OCR_ENGINES = ("easyocr", "tesseract")
# auto: OpenVINO where it is installed and the CPU computes in bf16, else ONNX Runtime (the
# worker decides; see archivist.jobs.easyocr_openvino.best_cpu_runtime).
EASYOCR_RUNTIMES = ("auto", "openvino", "onnx", "torch")


class SettingsError(ValueError):
    """A setting has a value Archivist cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """What Archivist was configured with. Build it with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    token_ttl_seconds: int = 7 * 24 * 3600
    login_max_failures: int = 5
    login_lockout_seconds: int = 15 * 60
    max_upload_bytes: int = 200 * 1024 * 1024
    max_upload_pixels: int = 500_000_000
    max_upload_pages: int = 10_000
    search_backend: str = "xapian"
    # host:port of a xapian-tcpsrv serving the index to every host (None: the local folder).
    xapian_remote: str | None = None
    xapian_remote_timeout: int = 10
    # Search totals are exact up to this many matches, estimated beyond (unless facets are
    # asked for, which count every match).
    search_exact_count: int = 10_000
    ocr_engine: str = "easyocr"
    ocr_languages: tuple[str, ...] = ("en",)
    easyocr_model_dir: Path | None = None
    easyocr_runtime: str = "auto"
    model_cache: Path | None = None
    query_max_depth: int = 12
    query_max_cost: int = 10_000
    query_max_aliases: int = 30
    query_max_tokens: int = 5_000
    query_max_body: int = 1024 * 1024
    login_max_failures_per_address: int = 50
    ws_recheck_seconds: int = 10
    ocr_dpi: int = 300
    ocr_threads: int | None = None
    page_timeout: int = 600
    render_memory_mib: int = 768
    render_timeout: int = 120
    page_lease_seconds: int = 60
    reconcile_interval: int = 30
    retry_intervals: tuple[int, ...] = (5, 30, 120)
    consume_dir: Path | None = None
    consume_user: str | None = None
    consume_interval: int = 5
    consume_settle: int = 5
    # Origins (``https://app.example.com``, or ``*``) whose pages may call the API and files.
    cors_origins: tuple[str, ...] = ()
    # Where clients reach the API (``https://dms.example.com``); file URLs are built on it.
    public_url: str | None = None
    # Signed file URLs are the same within a window of this many seconds (see core/signing.py).
    file_url_window: int = 3600
    admin_password: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    metrics_allow: tuple[Network, ...] = ()

    @property
    def storage_dir(self) -> Path:
        """Where original files, versions and previews live (content-addressed)."""
        return self.data_dir / "storage"

    @property
    def model_cache_dir(self) -> Path:
        """Where models exported for a faster runtime (EasyOCR's ONNX files) are kept."""
        return self.model_cache or self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        """Where the search index lives."""
        return self.data_dir / "index" / self.search_backend

    @property
    def database_scheme(self) -> str:
        """The database kind: ``sqlite``, ``postgresql`` or ``mysql``."""
        scheme = urlsplit(self.database_url).scheme.split("+", 1)[0]
        return "postgresql" if scheme == "postgres" else scheme


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _get(env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name}: expected true or false, got {value!r}")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    value = _get(env, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}: expected a whole number, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{PREFIX}{name}: must be at least {minimum}, got {number}")
    return number


def _intervals(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    value = _get(env, name)
    if value is None:
        return default
    try:
        intervals = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise SettingsError(
            f"{PREFIX}{name}: expected seconds separated by commas, like 5,30,120; got {value!r}"
        ) from None
    if any(seconds < 0 for seconds in intervals):
        raise SettingsError(f"{PREFIX}{name}: seconds cannot be negative, got {value!r}")
    return intervals


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (_get(env, name) or default).lower()
    if value not in choices:
        raise SettingsError(f"{PREFIX}{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    url = _get(env, "DATABASE_URL") or f"sqlite:///{data_dir / 'archivist.sqlite3'}"
    scheme = urlsplit(url).scheme
    base = scheme.split("+", 1)[0]
    if base not in DATABASE_SCHEMES:
        raise SettingsError(
            f"{PREFIX}DATABASE_URL: unknown database scheme {scheme!r} in {url!r} "
            "(use sqlite:///path, postgresql://user@host/db or mysql://user@host/db)"
        )
    if base != "sqlite" and not urlsplit(url).path.strip("/"):
        raise SettingsError(f"{PREFIX}DATABASE_URL: no database name in {url!r}")
    return url


def _redis_url(env: Mapping[str, str]) -> str | None:
    url = _get(env, "REDIS_URL")
    if url is None:
        return None
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            f"{PREFIX}REDIS_URL: {url!r} is not a Redis URL "
            "(use redis://host:6379/0 or unix:///path/to/redis.sock)"
        )
    return url


def _origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """``CORS_ORIGINS``: origins separated by commas, each ``scheme://host[:port]``, or ``*``."""
    value = _get(env, "CORS_ORIGINS")
    if value is None:
        return ()
    origins = []
    for origin in (part.strip().rstrip("/") for part in value.split(",")):
        if not origin:
            continue
        parts = urlsplit(origin)
        if origin != "*" and (
            parts.scheme not in ("http", "https") or not parts.netloc or parts.path
            or parts.query or parts.fragment
        ):  # fmt: skip
            raise SettingsError(
                f"{PREFIX}CORS_ORIGINS: {origin!r} is not an origin "
                "(use https://app.example.com, several separated by commas, or *)"
            )
        origins.append(origin)
    return tuple(origins)


def _xapian_remote(env: Mapping[str, str], backend: str) -> str | None:
    """``XAPIAN_REMOTE``: ``host:port`` (``[v6 address]:port``) of a ``xapian-tcpsrv``."""
    value = _get(env, "XAPIAN_REMOTE")
    if value is None:
        return None
    host, colon, port = value.rpartition(":")
    if not colon or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            f"{PREFIX}XAPIAN_REMOTE: {value!r} is not host:port (use e.g. index.internal:8100)"
        )
    if backend != "xapian":
        raise SettingsError(
            f"{PREFIX}XAPIAN_REMOTE: a remote index needs {PREFIX}SEARCH_BACKEND=xapian,"
            f" not {backend}"
        )
    return value


def _public_url(env: Mapping[str, str]) -> str | None:
    """``PUBLIC_URL``: ``http(s)://host[:port][/prefix]``, without a trailing slash."""
    value = _get(env, "PUBLIC_URL")
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(
            f"{PREFIX}PUBLIC_URL: {value!r} is not a base URL "
            "(use https://dms.example.com or https://example.com/archivist)"
        )
    return value.rstrip("/")


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    """The configured key, or one generated once and kept in the data directory."""
    configured = _get(env, "SECRET_KEY")
    if configured is not None:
        if len(configured) < 16:
            raise SettingsError(f"{PREFIX}SECRET_KEY: must be at least 16 characters long")
        return configured
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    from archivist.core.file_modes import make_private_dirs

    make_private_dirs(data_dir)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when two processes start at once, one writes and both read the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    value = _get(env, name)
    if value is None:
        return ()
    networks = []
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(
                f"{PREFIX}{name}: {part!r} is not an address or network "
                "(use e.g. 127.0.0.1,10.0.0.0/8,::1)"
            ) from None
    return tuple(networks)


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = _get(env, "METRICS_TOKEN")
    if token is not None and len(token) < 16:
        raise SettingsError(f"{PREFIX}METRICS_TOKEN: must be at least 16 characters long")
    return token


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment).

    Raises :class:`SettingsError` naming the variable when a value is unusable.
    """
    env = os.environ if env is None else env
    data_dir = Path(_get(env, "DATA_DIR") or Path.cwd() / "data").expanduser().resolve()
    languages = tuple(
        lang.strip() for lang in (_get(env, "OCR_LANGUAGES") or "en").split(",") if lang.strip()
    )
    search_backend = _choice(env, "SEARCH_BACKEND", "xapian", SEARCH_BACKENDS)
    model_dir = _get(env, "EASYOCR_MODEL_DIR")
    if model_dir is not None and not Path(model_dir).is_dir():
        raise SettingsError(f"{PREFIX}EASYOCR_MODEL_DIR: {model_dir!r} is not a directory")
    return Settings(
        data_dir=data_dir,
        database_url=_database_url(env, data_dir),
        redis_url=_redis_url(env),
        secret_key=_secret_key(env, data_dir),
        debug=_bool(env, "DEBUG", False),
        host=_get(env, "HOST") or "127.0.0.1",
        port=_int(env, "PORT", 8000, minimum=0),
        token_ttl_seconds=_int(env, "TOKEN_TTL", 7 * 24 * 3600, minimum=60),
        login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 5, minimum=1),
        login_lockout_seconds=_int(env, "LOGIN_LOCKOUT", 15 * 60, minimum=1),
        max_upload_bytes=_int(env, "MAX_UPLOAD_SIZE", 200 * 1024 * 1024, minimum=1),
        max_upload_pixels=_int(env, "MAX_UPLOAD_PIXELS", 500_000_000, minimum=1_000_000),
        max_upload_pages=_int(env, "MAX_UPLOAD_PAGES", 10_000, minimum=1),
        search_backend=search_backend,
        xapian_remote=_xapian_remote(env, search_backend),
        xapian_remote_timeout=_int(env, "XAPIAN_REMOTE_TIMEOUT", 10, minimum=1),
        search_exact_count=_int(env, "SEARCH_EXACT_COUNT", 10_000, minimum=1),
        ocr_engine=_choice(env, "OCR_ENGINE", "easyocr", OCR_ENGINES),
        ocr_languages=languages or ("en",),
        easyocr_model_dir=Path(model_dir) if model_dir else None,
        easyocr_runtime=_choice(env, "EASYOCR_RUNTIME", "auto", EASYOCR_RUNTIMES),
        model_cache=Path(cache).expanduser() if (cache := _get(env, "MODEL_CACHE")) else None,
        query_max_depth=_int(env, "QUERY_MAX_DEPTH", 12, minimum=2),
        query_max_cost=_int(env, "QUERY_MAX_COST", 10_000, minimum=1),
        query_max_aliases=_int(env, "QUERY_MAX_ALIASES", 30, minimum=0),
        query_max_tokens=_int(env, "QUERY_MAX_TOKENS", 5_000, minimum=100),
        query_max_body=_int(env, "QUERY_MAX_BODY", 1024 * 1024, minimum=1024),
        login_max_failures_per_address=_int(env, "LOGIN_MAX_FAILURES_PER_ADDRESS", 50, minimum=1),
        ws_recheck_seconds=_int(env, "WS_RECHECK", 10, minimum=1),
        ocr_dpi=_int(env, "OCR_DPI", 300, minimum=72),
        ocr_threads=_int(env, "OCR_THREADS", 0, minimum=0) or None,
        page_timeout=_int(env, "PAGE_TIMEOUT", 600, minimum=10),
        render_memory_mib=_int(env, "RENDER_MEMORY", 768, minimum=64),
        render_timeout=_int(env, "RENDER_TIMEOUT", 120, minimum=1),
        page_lease_seconds=_int(env, "PAGE_LEASE", 60, minimum=2),
        reconcile_interval=_int(env, "RECONCILE_INTERVAL", 30, minimum=1),
        retry_intervals=_intervals(env, "RETRY_INTERVALS", (5, 30, 120)),
        consume_dir=Path(consume).expanduser().resolve()
        if (consume := _get(env, "CONSUME_DIR"))
        else None,
        consume_user=_get(env, "CONSUME_USER"),
        consume_interval=_int(env, "CONSUME_INTERVAL", 5, minimum=1),
        consume_settle=_int(env, "CONSUME_SETTLE", 5, minimum=0),
        cors_origins=_origins(env),
        public_url=_public_url(env),
        file_url_window=_int(env, "FILE_URL_WINDOW", 3600, minimum=60),
        admin_password=_get(env, "ADMIN_PASSWORD"),
        metrics_token=_metrics_token(env),
        metrics_allow=_networks(env, "METRICS_ALLOW"),
    )


_current: Settings | None = None


def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    global _current
    if _current is None:
        _current = load_settings()
    return _current


def use_settings(settings: Settings) -> None:
    """Make ``settings`` the settings of this process (start-up and tests)."""
    global _current
    _current = settings
