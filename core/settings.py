"""Settings: every knob comes from an ``ARCHIVIST_*`` environment variable, read here only.

A bad value raises :class:`SettingsError` whose message is one line naming the variable, so
that start-up can stop with exactly that line.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "ARCHIVIST_"

DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")
SEARCH_BACKENDS = ("xapian", "whoosh")
OCR_ENGINES = ("easyocr", "tesseract")


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
    search_backend: str = "xapian"
    ocr_engine: str = "easyocr"
    ocr_languages: tuple[str, ...] = ("en",)
    easyocr_model_dir: Path | None = None
    query_max_depth: int = 12
    ocr_dpi: int = 300
    ocr_threads: int | None = None
    page_timeout: int = 600
    page_lease_seconds: int = 60
    reconcile_interval: int = 30
    retry_intervals: tuple[int, ...] = (5, 30, 120)
    admin_password: str | None = field(default=None, repr=False)

    @property
    def storage_dir(self) -> Path:
        """Where original files, versions and previews live (content-addressed)."""
        return self.data_dir / "storage"

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
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when two processes start at once, one writes and both read the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment).

    Raises :class:`SettingsError` naming the variable when a value is unusable.
    """
    env = os.environ if env is None else env
    data_dir = Path(_get(env, "DATA_DIR") or Path.cwd() / "data").expanduser().resolve()
    languages = tuple(
        lang.strip() for lang in (_get(env, "OCR_LANGUAGES") or "en").split(",") if lang.strip()
    )
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
        search_backend=_choice(env, "SEARCH_BACKEND", "xapian", SEARCH_BACKENDS),
        ocr_engine=_choice(env, "OCR_ENGINE", "easyocr", OCR_ENGINES),
        ocr_languages=languages or ("en",),
        easyocr_model_dir=Path(model_dir) if model_dir else None,
        query_max_depth=_int(env, "QUERY_MAX_DEPTH", 12, minimum=2),
        ocr_dpi=_int(env, "OCR_DPI", 300, minimum=72),
        ocr_threads=_int(env, "OCR_THREADS", 0, minimum=0) or None,
        page_timeout=_int(env, "PAGE_TIMEOUT", 600, minimum=10),
        page_lease_seconds=_int(env, "PAGE_LEASE", 60, minimum=2),
        reconcile_interval=_int(env, "RECONCILE_INTERVAL", 30, minimum=1),
        retry_intervals=_intervals(env, "RETRY_INTERVALS", (5, 30, 120)),
        admin_password=_get(env, "ADMIN_PASSWORD"),
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
