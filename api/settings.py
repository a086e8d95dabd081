"""One frozen settings object, read from the environment.

Each environment variable is declared once, as a field of `Settings`: its name, its default
(written as it would be in the environment), the function that reads it, and what it means.
The dataclass's defaults and `Settings.from_env` come from those declarations, and the
README's settings table is held to them, defaults included, by a test (tests/test_docs.py).
"""

# `setting(...)` returns a `dataclasses.field`, as `field(...)` itself would be written there.
# ruff: noqa: RUF009

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Generic, TypeVar

from api.events.outbox import DEFAULT_SCHEDULE
from api.events.webhooks import Endpoint, WebhooksError, load_webhooks
from api.preview import MIN_SECRET_LENGTH, PREVIEW_CHANNEL
from api.review import CHANNELS, DEFAULT_DUE_DAYS, DEFAULT_SERVE_OVERDUE, ReviewPolicy

ENV_PREFIX = "CLINIC_"
#: The channels that may hold a key: the API's readers (the website, the waiting-room kiosk,
#: the newsletter tool and integrators), editors, and `preview` (what is not live yet:
#: api/preview.py). A preview key alone does not turn keys on for the other channels.
KEY_CHANNELS = ("website", "kiosk", "newsletter", "integrators", "editor", "preview")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable has a value the API cannot use; the message names it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Variable(Generic[T]):
    """One environment variable, a row of the README's settings table."""

    name: str
    #: The value when the variable is not set, written as it would be in the environment.
    default: str
    #: Reads a value, given the variable's name and its text; a bad value raises an error
    #: that names the variable.
    parse: Callable[[str, str], T]
    #: What the variable means: the README's "meaning" column.
    help: str
    #: What the README's default column says after the default, in brackets; for an empty
    #: default, what it says instead of it (`none` when this is empty too).
    note: str = ""
    #: A value of only spaces means the default, rather than itself.
    blank_is_default: bool = False

    def read(self, env: Mapping[str, str]) -> T:
        text = env.get(self.name)
        if text is None or (self.blank_is_default and not text.strip()):
            text = self.default
        return self.parse(self.name, text)

    @property
    def shown_default(self) -> str:
        """The README's default column for this variable."""
        if not self.default:
            return self.note or "none"
        return f"`{self.default}` ({self.note})" if self.note else f"`{self.default}`"


def setting(
    name: str,
    *,
    default: str,
    parse: Callable[[str, str], T],
    help: str,
    note: str = "",
    blank_is_default: bool = False,
    hidden: bool = False,
) -> T:
    """A field of `Settings` that the variable `name` sets; its default is `default` read
    by `parse`. `hidden` keeps the value out of the settings' repr (keys)."""
    variable = Variable(
        name=name,
        default=default,
        parse=parse,
        help=help,
        note=note,
        blank_is_default=blank_is_default,
    )
    value: T = field(default=parse(name, default), repr=not hidden, metadata={"variable": variable})
    return value


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


# The readers below take the variable's name first, so that each error names it.


def _text(name: str, value: str) -> str:
    return value


def _text_or_none(name: str, value: str) -> str | None:
    return value or None


def _list(name: str, value: str) -> tuple[str, ...]:
    return _split(value)


def _path(name: str, value: str) -> Path:
    return Path(value)


def _path_or_none(name: str, value: str) -> Path | None:
    text = value.strip()
    return Path(text) if text else None


def _port(name: str, value: str) -> int:
    return int(value)


def _flag(name: str, value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off")


def _whole(name: str, value: str) -> int:
    """A non-negative integer setting; a bad value stops start-up with the variable's name."""
    raw = value.strip()
    try:
        number = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return number


def _seconds(name: str, value: str) -> float:
    raw = value.strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise SettingsError(f"{name}={raw!r}: expected seconds, more than 0 and at most 3600")
    return seconds


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


def _hosts(name: str, value: str) -> tuple[str, ...]:
    """Host names, lower-case; a port or a URL is a mistake worth stopping for."""
    hosts = tuple(host.lower().rstrip(".") or "." for host in _split(value))
    for host in hosts:
        if not _HOST.fullmatch(host):
            raise SettingsError(
                f"{name}: {host!r} is not a host name (no scheme, no port;"
                " `*.example.org` for subdomains, `*` for any)"
            )
    return hosts


def _due_days(name: str, value: str) -> int:
    days = int(value)
    if not 0 <= days <= 3650:
        raise SettingsError(f"{name} must be 0 to 3650, not {days}")
    return days


def _channels(name: str, value: str) -> frozenset[str]:
    if value.strip().lower() == "none":
        return frozenset()
    names = frozenset(_split(value))
    unknown = sorted(names - set(CHANNELS))
    if unknown:
        raise SettingsError(
            f"{name}: unknown channel(s) {', '.join(unknown)}; known: {', '.join(CHANNELS)}"
        )
    return names


def _schedule(name: str, value: str) -> tuple[float, ...]:
    """Comma-separated seconds, or `0` for no retry."""
    text = value.strip()
    if text == "0":
        return ()
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        delays = ()
    if not delays or any(not 0 <= d <= 7 * 86400 for d in delays):
        raise SettingsError(
            f"{name}={value!r}: expected comma-separated seconds"
            " (each 0 to 604800), e.g. 5,300,1800; or 0 for no retries"
        )
    return delays


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


def _api_keys(name: str, value: str) -> tuple[tuple[str, bytes], ...]:
    return parse_api_keys(value)


def _secret(name: str, value: str) -> bytes | None:
    """A secret long enough that what it signs cannot be forged by guessing it."""
    text = value.strip()
    if not text:
        return None
    if len(text) < MIN_SECRET_LENGTH:
        # The value is not echoed: it is a secret.
        raise SettingsError(
            f"{name} must be at least {MIN_SECRET_LENGTH} characters"
            " (e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    return text.encode("utf-8")


def _webhooks(path: Path | None, content_dir: Path) -> tuple[Endpoint, ...]:
    if path is None:
        return ()
    try:
        return load_webhooks(path, content_dir)
    except WebhooksError as exc:
        raise SettingsError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Settings:
    """Every field but `webhooks` (read from the webhooks file) is one environment
    variable, declared here once; the README's settings table lists them in this order."""

    content_dir: Path = setting(
        "CLINIC_CONTENT_DIR",
        default="content",
        parse=_path,
        help="the content folder to check and build",
    )
    db_path: Path = setting(
        "CLINIC_DB_PATH",
        default="var/clinic.db",
        parse=_path,
        help="the SQLite database the build writes and the API reads",
    )
    base_url: str | None = setting(
        "CLINIC_BASE_URL",
        default="",
        parse=_text_or_none,
        help="public base URL of the website, for absolute links (see below)",
        note="the `base_url` in `content/site.yaml`",
    )
    public_url: str | None = setting(
        "CLINIC_PUBLIC_URL",
        default="",
        parse=_url,
        help=(
            "the API's own public URL, for the absolute links it makes to itself (a feed's self "
            "link and Atom `<id>`); never taken from the request's `Host`"
        ),
        note="`http://<host>:<port>` that `serve` listens on (`127.0.0.1` for a wildcard address)",
    )
    allowed_hosts: tuple[str, ...] = setting(
        "CLINIC_ALLOWED_HOSTS",
        default="",
        parse=_hosts,
        help=(
            "comma-separated host names the API answers to (no scheme, no port; `*.example.org` for"
            " subdomains); any other `Host` gets `400`. `/health`, `/ready` and `/metrics` answer "
            "whatever the `Host`, for probes and scrapes by address"
        ),
        note="none (any `Host`)",
    )
    cors_origins: tuple[str, ...] = setting(
        "CLINIC_CORS_ORIGINS",
        default="",
        parse=_list,
        help="comma-separated origins allowed to call the API from a browser",
    )
    host: str = setting(
        "CLINIC_HOST",
        default="127.0.0.1",
        parse=_text,
        help="address `serve` binds",
    )
    port: int = setting(
        "CLINIC_PORT",
        default="8000",
        parse=_port,
        help="port `serve` listens on",
    )
    build_on_start: bool = setting(
        "CLINIC_BUILD_ON_START",
        default="1",
        parse=_flag,
        help="`0` makes `serve` use the database as it is",
    )
    review_due_days: int = setting(
        "CLINIC_REVIEW_DUE_DAYS",
        default=str(DEFAULT_DUE_DAYS),
        parse=_due_days,
        help="days before `next_review_due` during which an item's `review_status` is `due`",
        blank_is_default=True,
    )
    serve_overdue: frozenset[str] = setting(
        "CLINIC_SERVE_OVERDUE",
        default=",".join(sorted(DEFAULT_SERVE_OVERDUE)),
        parse=_channels,
        help=(
            "comma-separated channels (`website`, `kiosk`, `newsletter`, `editor`) still served "
            "items whose review is overdue; `none` for no channel"
        ),
    )
    api_keys: tuple[tuple[str, bytes], ...] = setting(
        "CLINIC_API_KEYS",
        default="",
        parse=_api_keys,
        help=(
            "channel keys as SHA-256 hex digests: `kiosk:<sha256>,website:<sha256>,...`; channels "
            "are `website`, `kiosk`, `newsletter`, `integrators`, `editor`, `preview`; a channel "
            "may have several (for rotation). `preview` keys open the preview channel and `at=` "
            "(see [Preview](#preview)); keys of `preview` alone do not make the other channels "
            "need a key"
        ),
        note="none (no keys needed)",
        hidden=True,
    )
    preview_secret: bytes | None = setting(
        "CLINIC_PREVIEW_SECRET",
        default="",
        parse=_secret,
        help=(
            "the secret signed preview links are made and checked with (HMAC-SHA256), at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`; changing it voids "
            "every link given out; never logged or echoed"
        ),
        note="none (no signed links)",
        hidden=True,
    )
    rate_limit_address: RateLimit = setting(
        "CLINIC_RATE_LIMIT",
        default="600/60",
        parse=RateLimit.parse,
        help=(
            "requests per client address per window, as `REQUESTS/SECONDS`, for requests without a "
            "valid key (no key, a wrong one, or keys off); `0` turns it off"
        ),
    )
    rate_limit_key: RateLimit = setting(
        "CLINIC_RATE_LIMIT_KEY",
        default="6000/60",
        parse=RateLimit.parse,
        help=(
            "requests per key per window (each configured key its own budget, not its channel's); "
            "`0` turns it off"
        ),
    )
    keep_alive_timeout: int = setting(
        "CLINIC_KEEP_ALIVE_TIMEOUT",
        default="5",
        parse=_whole,
        help=(
            "seconds `serve` keeps an idle connection open after an answer (uvicorn's "
            "`timeout_keep_alive`)"
        ),
        blank_is_default=True,
    )
    concurrency_limit: int = setting(
        "CLINIC_CONCURRENCY_LIMIT",
        default="1000",
        parse=_whole,
        help=(
            "connections and requests `serve` takes at once; beyond it uvicorn answers `503` (its "
            "`limit_concurrency`); `0` for no limit"
        ),
        blank_is_default=True,
    )
    access_log: bool = setting(
        "CLINIC_ACCESS_LOG",
        default="1",
        parse=_flag,
        help="`0` turns the JSON access log off",
    )
    cache_max_age: int = setting(
        "CLINIC_CACHE_MAX_AGE",
        default="60",
        parse=_whole,
        help="seconds clients and CDNs may reuse a GET answer (`Cache-Control: max-age`)",
        blank_is_default=True,
    )
    cache_stale_while_revalidate: int = setting(
        "CLINIC_CACHE_STALE_WHILE_REVALIDATE",
        default="300",
        parse=_whole,
        help="seconds a cache may serve a stale answer while it revalidates",
        blank_is_default=True,
    )
    cache_stale_if_error: int = setting(
        "CLINIC_CACHE_STALE_IF_ERROR",
        default="86400",
        parse=_whole,
        help="seconds a cache may serve a stale answer when the API answers with an error",
        blank_is_default=True,
    )
    cache_max_bytes: int = setting(
        "CLINIC_CACHE_MAX_BYTES",
        default=str(64 * 1024 * 1024),
        parse=_whole,
        help="upper bound of the prepared responses kept in memory, compressed copies included",
        note="64 MiB",
        blank_is_default=True,
    )
    prepare_ahead: int = setting(
        "CLINIC_PREPARE_AHEAD",
        default="60",
        parse=_whole,
        help=(
            "seconds before a transition at which the next window's answers start being"
            " prepared; also the longest a busy server gives the previous build's prepared"
            " answers after a build while it prepares the new ones (in a child process of the"
            " server's); `0`: neither, and no such process"
        ),
        blank_is_default=True,
    )
    state_path_setting: Path | None = setting(
        "CLINIC_STATE_PATH",
        default="",
        parse=_path_or_none,
        help=(
            "the state store: the event log and the webhook outbox (see [Events and "
            "webhooks](#events-and-webhooks)); must outlive the content database, and be writable "
            "by `build` and `serve`"
        ),
        note="`state.db` beside `CLINIC_DB_PATH`",
    )
    webhooks_file: Path | None = setting(
        "CLINIC_WEBHOOKS_FILE",
        default="",
        parse=_path_or_none,
        help=(
            "YAML file of webhook endpoints, their secrets and the event types each wants; outside "
            "`content/`"
        ),
        note="none (no webhooks)",
    )
    #: The endpoints the webhooks file configures (their secrets are never shown).
    webhooks: tuple[Endpoint, ...] = field(default=(), repr=False)
    webhook_retry_schedule: tuple[float, ...] = setting(
        "CLINIC_WEBHOOK_RETRY_SCHEDULE",
        default=",".join(f"{delay:g}" for delay in DEFAULT_SCHEDULE),
        parse=_schedule,
        help=(
            "seconds before each retry after a failed delivery (the Standard Webhooks schedule:"
            " 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h; each delay plus up to 10 %"
            " jitter); once spent, the delivery is given up; `0` for no retries"
        ),
        blank_is_default=True,
    )
    webhook_timeout: float = setting(
        "CLINIC_WEBHOOK_TIMEOUT",
        default="10",
        parse=_seconds,
        help="seconds one delivery attempt may take, connecting included",
        blank_is_default=True,
    )
    webhook_poll: float = setting(
        "CLINIC_WEBHOOK_POLL",
        default="0.5",
        parse=_seconds,
        help="seconds between the sender's looks for new events (a due retry wakes it sooner)",
        blank_is_default=True,
    )

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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {name: variable.read(env) for name, variable in _FIELDS.items()}
        webhooks = _webhooks(values["webhooks_file"], values["content_dir"])
        return cls(**values, webhooks=webhooks)


#: The environment variables, by the name of the field each sets, in the fields' order.
_FIELDS: dict[str, Variable[Any]] = {
    f.name: f.metadata["variable"] for f in fields(Settings) if "variable" in f.metadata
}
#: Every environment variable the settings read, in order: the README's settings table.
VARIABLES: tuple[Variable[Any], ...] = tuple(_FIELDS.values())
