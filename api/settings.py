"""One frozen settings object, read from the environment (every variable is in the README)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from api.events.outbox import DEFAULT_SCHEDULE
from api.events.webhooks import Endpoint, WebhooksError, load_webhooks
from api.preview import MIN_SECRET_LENGTH, PREVIEW_CHANNEL
from api.review import CHANNELS, DEFAULT_DUE_DAYS, DEFAULT_SERVE_OVERDUE, ReviewPolicy

ENV_PREFIX = "CLINIC_"
#: The channels that may hold a key: those of DESIGN.md's "who uses it", editors, and
#: `preview` (what is not live yet: api/preview.py). A preview key alone does not turn
#: keys on for the other channels.
KEY_CHANNELS = ("website", "kiosk", "newsletter", "integrators", "editor", "preview")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class SettingsError(ValueError):
    """An environment variable has a value the API cannot use; the message names it."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _whole(env: dict[str, str], name: str, default: int) -> int:
    """A non-negative integer setting; a bad value stops start-up with the variable's name."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` in each window of `seconds`; `requests == 0` turns the limit off."""

    requests: int
    seconds: int

    @property
    def enabled(self) -> bool:
        return self.requests > 0

    @classmethod
    def parse(cls, name: str, value: str) -> RateLimit:
        text = value.strip().lower()
        if text in ("", "0", "off", "none"):
            return cls(0, 60)
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", text)
        if match is None or int(match.group(2)) < 1:
            raise SettingsError(
                f"{name}={value!r}: expected REQUESTS/SECONDS (e.g. 600/60), or 0 for no limit"
            )
        return cls(int(match.group(1)), int(match.group(2)))


def parse_api_keys(value: str) -> tuple[tuple[str, bytes], ...]:
    """`channel:sha256hex,...` to (channel, digest) pairs. Only digests are ever held."""
    keys: list[tuple[str, bytes]] = []
    for entry in _split(value):
        channel, _, digest = entry.partition(":")
        channel, digest = channel.strip(), digest.strip().lower()
        if channel not in KEY_CHANNELS:
            raise SettingsError(
                f"CLINIC_API_KEYS: unknown channel {channel!r}; channels: {', '.join(KEY_CHANNELS)}"
            )
        if not _SHA256_HEX.match(digest):
            # The value is not echoed: it may be a key pasted by mistake instead of its hash.
            raise SettingsError(
                f"CLINIC_API_KEYS: the entry for {channel} is not a SHA-256 hex digest"
                " (64 hex characters); store the hash of the key, not the key"
            )
        keys.append((channel, bytes.fromhex(digest)))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class Settings:
    content_dir: Path = Path("content")
    db_path: Path = Path("var/clinic.db")
    base_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    build_on_start: bool = True
    #: Days before next_review_due during which an item is `due` rather than `current`.
    review_due_days: int = DEFAULT_DUE_DAYS
    #: Channels that are still served items whose review is overdue (see api/review.py).
    serve_overdue: frozenset[str] = DEFAULT_SERVE_OVERDUE
    #: (channel, SHA-256 digest of its key); empty: no keys needed.
    api_keys: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    rate_limit_address: RateLimit = RateLimit(600, 60)
    rate_limit_key: RateLimit = RateLimit(6000, 60)
    access_log: bool = True
    #: Cache-Control for every successful GET: how long clients and CDNs may reuse an answer,
    #: serve it stale while they revalidate, and serve it stale when we answer with an error.
    cache_max_age: int = 60
    cache_stale_while_revalidate: int = 300
    cache_stale_if_error: int = 86400
    #: Upper bound, in bytes, of the responses kept prepared in memory (bodies included).
    cache_max_bytes: int = 64 * 1024 * 1024
    #: The API's own public URL, for the absolute links it makes to itself (a feed's self
    #: link and id): never taken from the request's Host, which any client can set.
    public_url: str | None = None
    #: Host names the API answers to (`*.example.org` for subdomains); empty: any.
    allowed_hosts: tuple[str, ...] = ()
    #: Seconds `serve` keeps an idle connection open after an answer.
    keep_alive_timeout: int = 5
    #: Connections and requests `serve` takes at once before answering 503; 0: no limit.
    concurrency_limit: int = 1000
    #: The state store (events, webhook outbox); None: `state.db` beside the database.
    state_path_setting: Path | None = None
    #: The webhooks file, and the endpoints it configures (secrets are never shown).
    webhooks_file: Path | None = None
    webhooks: tuple[Endpoint, ...] = field(default=(), repr=False)
    #: Seconds before each retry after a failed delivery; the last spent, it is given up.
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    #: Seconds a delivery attempt may take, connection included.
    webhook_timeout: float = 10.0
    #: Seconds between looks at the outbox for new events.
    webhook_poll: float = 0.5
    #: The secret signed preview links are made and checked with; None: no links.
    preview_secret: bytes | None = field(default=None, repr=False)

    @property
    def public_keys(self) -> tuple[tuple[str, bytes], ...]:
        """The keys of every channel but `preview`: with none, no key is needed for
        anything but previews."""
        return tuple(key for key in self.api_keys if key[0] != PREVIEW_CHANNEL)

    @property
    def state_path(self) -> Path:
        """CLINIC_STATE_PATH, or `state.db` beside the database."""
        return self.state_path_setting or self.db_path.with_name("state.db")

    @property
    def api_url(self) -> str:
        """CLINIC_PUBLIC_URL, or the address `serve` listens on."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def review_policy(self) -> ReviewPolicy:
        return ReviewPolicy(due_days=self.review_due_days, serve_overdue=self.serve_overdue)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        content_dir = Path(env.get("CLINIC_CONTENT_DIR", "content"))
        raw_file = env.get("CLINIC_WEBHOOKS_FILE", "").strip()
        webhooks_file = Path(raw_file) if raw_file else None
        return cls(
            content_dir=content_dir,
            db_path=Path(env.get("CLINIC_DB_PATH", "var/clinic.db")),
            base_url=env.get("CLINIC_BASE_URL") or None,
            cors_origins=_split(env.get("CLINIC_CORS_ORIGINS", "")),
            host=env.get("CLINIC_HOST", "127.0.0.1"),
            port=int(env.get("CLINIC_PORT", "8000")),
            build_on_start=_flag(env.get("CLINIC_BUILD_ON_START", "1")),
            review_due_days=_due_days(env.get("CLINIC_REVIEW_DUE_DAYS")),
            serve_overdue=_channels(env.get("CLINIC_SERVE_OVERDUE")),
            api_keys=parse_api_keys(env.get("CLINIC_API_KEYS", "")),
            rate_limit_address=RateLimit.parse(
                "CLINIC_RATE_LIMIT", env.get("CLINIC_RATE_LIMIT", "600/60")
            ),
            rate_limit_key=RateLimit.parse(
                "CLINIC_RATE_LIMIT_KEY", env.get("CLINIC_RATE_LIMIT_KEY", "6000/60")
            ),
            access_log=_flag(env.get("CLINIC_ACCESS_LOG", "1")),
            cache_max_age=_whole(env, "CLINIC_CACHE_MAX_AGE", 60),
            cache_stale_while_revalidate=_whole(env, "CLINIC_CACHE_STALE_WHILE_REVALIDATE", 300),
            cache_stale_if_error=_whole(env, "CLINIC_CACHE_STALE_IF_ERROR", 86400),
            cache_max_bytes=_whole(env, "CLINIC_CACHE_MAX_BYTES", 64 * 1024 * 1024),
            public_url=_url("CLINIC_PUBLIC_URL", env.get("CLINIC_PUBLIC_URL", "")),
            allowed_hosts=_hosts(env.get("CLINIC_ALLOWED_HOSTS", "")),
            keep_alive_timeout=_whole(env, "CLINIC_KEEP_ALIVE_TIMEOUT", 5),
            concurrency_limit=_whole(env, "CLINIC_CONCURRENCY_LIMIT", 1000),
            state_path_setting=Path(env["CLINIC_STATE_PATH"])
            if env.get("CLINIC_STATE_PATH", "").strip()
            else None,
            webhooks_file=webhooks_file,
            webhooks=_webhooks(webhooks_file, content_dir),
            webhook_retry_schedule=_schedule(env.get("CLINIC_WEBHOOK_RETRY_SCHEDULE", "")),
            webhook_timeout=_seconds(env, "CLINIC_WEBHOOK_TIMEOUT", 10.0),
            webhook_poll=_seconds(env, "CLINIC_WEBHOOK_POLL", 0.5),
            preview_secret=_secret(env.get("CLINIC_PREVIEW_SECRET", "")),
        )


_URL = re.compile(r"https?://[^/?#\s@]+(/[^?#\s]*)?")
_HOST = re.compile(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\]|\*")


def _url(name: str, value: str) -> str | None:
    """An absolute http(s) URL without query or fragment, without its trailing slash."""
    text = value.strip()
    if not text:
        return None
    if not _URL.fullmatch(text):
        raise SettingsError(
            f"{name}={value!r}: expected an absolute http:// or https:// URL without a query,"
            " e.g. https://api.clinic.example"
        )
    return text.rstrip("/")


def _hosts(value: str) -> tuple[str, ...]:
    """Host names, lower-case; a port or a URL is a mistake worth stopping for."""
    hosts = tuple(host.lower().rstrip(".") or "." for host in _split(value))
    for host in hosts:
        if not _HOST.fullmatch(host):
            raise SettingsError(
                f"CLINIC_ALLOWED_HOSTS: {host!r} is not a host name (no scheme, no port;"
                " `*.example.org` for subdomains, `*` for any)"
            )
    return hosts


def _due_days(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_DUE_DAYS
    days = int(value)
    if not 0 <= days <= 3650:
        raise SettingsError(f"CLINIC_REVIEW_DUE_DAYS must be 0 to 3650, not {days}")
    return days


def _channels(value: str | None) -> frozenset[str]:
    if value is None:
        return DEFAULT_SERVE_OVERDUE
    if value.strip().lower() == "none":
        return frozenset()
    names = frozenset(_split(value))
    unknown = sorted(names - set(CHANNELS))
    if unknown:
        raise SettingsError(
            f"CLINIC_SERVE_OVERDUE: unknown channel(s) {', '.join(unknown)};"
            f" known: {', '.join(CHANNELS)}"
        )
    return names


def _webhooks(path: Path | None, content_dir: Path) -> tuple[Endpoint, ...]:
    if path is None:
        return ()
    try:
        return load_webhooks(path, content_dir)
    except WebhooksError as exc:
        raise SettingsError(str(exc)) from None


def _schedule(value: str) -> tuple[float, ...]:
    """Comma-separated seconds; empty for the Standard Webhooks schedule, `0` for no retry."""
    text = value.strip()
    if not text:
        return DEFAULT_SCHEDULE
    if text == "0":
        return ()
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        delays = ()
    if not delays or any(not 0 <= d <= 7 * 86400 for d in delays):
        raise SettingsError(
            f"CLINIC_WEBHOOK_RETRY_SCHEDULE={value!r}: expected comma-separated seconds"
            " (each 0 to 604800), e.g. 5,300,1800; or 0 for no retries"
        )
    return delays


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise SettingsError(f"{name}={raw!r}: expected seconds, more than 0 and at most 3600")
    return value


def _secret(value: str) -> bytes | None:
    """CLINIC_PREVIEW_SECRET: long enough that links cannot be forged by guessing it."""
    text = value.strip()
    if not text:
        return None
    if len(text) < MIN_SECRET_LENGTH:
        # The value is not echoed: it is a secret.
        raise SettingsError(
            f"CLINIC_PREVIEW_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            " (e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    return text.encode("utf-8")


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off")
