"""Preview: content as it will be, for the people who must see it before patients do.

Three ways in, each decided once, in front of the framework, by the preview gate
(api/middleware/preview.py), which also keeps their answers out of everything shared:

- `channel=preview` (a key of the `preview` channel): every item that exists, drafts,
  scheduled, expired and withdrawn ones included, each saying its `publication_status`;
- `at=<RFC 3339 instant>` (a `preview` or `editor` key): any channel as it will be, or was,
  at that instant;
- a signed link (`preview_token=`, made by `python -m api preview-link` or
  `POST /v1/preview-links`): one item, as `channel=preview` shows it, without a key, until
  the link expires.

The gate leaves its judgement in a context variable for the handlers of that request
(`current`), so the pipeline chooses its window from it without every controller passing
it along. Public requests never set it.

A signed link's token is `<payload>.<signature>`, both base64url: the payload is the JSON
array `[type, slug, locale, expires]` and the signature is HMAC-SHA256 over a fixed
prefix and the payload, with CLINIC_PREVIEW_SECRET. Changing any of the four, or the
signature, makes it fail; it opens the one item it names and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

import msgspec

PREVIEW_CHANNEL = "preview"
AT_PARAM = "at"
TOKEN_PARAM = "preview_token"
LINKS_PATH = "/v1/preview-links"
#: The keys that may see content before it is live with `at=` and make signed links.
TIME_KEYS = frozenset({"preview", "editor"})
#: Where each type's items are, for the path a signed link opens.
TYPE_PATHS = {
    "article": "/v1/articles",
    "condition": "/v1/conditions",
    "symptom": "/v1/symptoms",
    "treatment": "/v1/treatments",
    "faq": "/v1/faqs",
}
ItemType = Literal["article", "condition", "symptom", "treatment", "faq"]
DEFAULT_TTL = 3600
#: A link is a loan of unpublished content to someone without a key: weeks at most.
MAX_TTL = 30 * 86400
MIN_SECRET_LENGTH = 32
#: What the signature covers besides the payload, so a token cannot be reused as any
#: other HMAC this secret might make.
_CONTEXT = b"clinic-preview-link/v1\x00"
_TTL = re.compile(r"([0-9]{1,7})([smhd]?)", re.ASCII)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_decode_claims = msgspec.json.Decoder(tuple[str, str, str, int])
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Link:
    """What a valid signed link opens: one item, until `expires` (POSIX seconds)."""

    type: str
    slug: str
    locale: str
    expires: int

    @property
    def path(self) -> str:
        return f"{TYPE_PATHS[self.type]}/{self.slug}"


@dataclass(frozen=True, slots=True)
class Viewpoint:
    """How the gate admitted a request: the instant it is answered for (None: now),
    whether it is the preview channel, the one item a signed link opens, and the key's
    channel."""

    at: float | None = None
    #: `at` is not the request's but the instant its answer is prepared ahead for
    #: (api/http/preparer.py): the answer must be the one a request then gets, so nothing
    #: in it may name the instant.
    ahead: bool = False
    preview: bool = False
    link: Link | None = None
    #: The request may make signed links (POST /v1/preview-links).
    may_link: bool = False
    key_channel: str | None = None


VIEWPOINT: ContextVar[Viewpoint | None] = ContextVar("clinic_viewpoint", default=None)


def current() -> Viewpoint | None:
    """The viewpoint of the request being answered; None for every public request."""
    return VIEWPOINT.get()


def asked_at() -> float | None:
    """The instant the request asked for with `at=`, if it did."""
    seen = VIEWPOINT.get()
    return seen.at if seen is not None and not seen.ahead else None


class LinkError(ValueError):
    """A token that does not open anything; the message says why, for the 401."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _CONTEXT + payload, hashlib.sha256).digest()


def sign(secret: bytes, type_: str, slug: str, locale: str, expires: int) -> str:
    """A token opening one item until `expires`."""
    if type_ not in TYPE_PATHS:
        raise ValueError(f"unknown type {type_!r}")
    payload = _encoder.encode((type_, slug, locale, int(expires)))
    return f"{_b64(payload)}.{_b64(_signature(secret, payload))}"


def verify(secret: bytes, token: str, now: float | None = None) -> Link:
    """The item a token opens, or LinkError saying why it opens nothing."""
    encoded, dot, signature = token.partition(".")
    if not dot or not encoded or not signature:
        raise LinkError("This preview link is not valid: its token is malformed.")
    try:
        payload = _unb64(encoded)
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise LinkError("This preview link is not valid: its token is malformed.") from None
    # The signature is checked before the payload is read: nothing of a forged token is
    # trusted, not even to say which item it claims.
    if not hmac.compare_digest(given, _signature(secret, payload)):
        raise LinkError(
            "This preview link is not valid: it was altered, or made with another secret."
            " Ask an editor for a new link."
        )
    try:
        type_, slug, locale, expires = _decode_claims.decode(payload)
    except msgspec.DecodeError:
        raise LinkError("This preview link is not valid: its token is malformed.") from None
    if type_ not in TYPE_PATHS:
        raise LinkError("This preview link is not valid: it names no kind of item.")
    if (time.time() if now is None else now) >= expires:
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        raise LinkError(f"This preview link expired at {moment}. Ask an editor for a new link.")
    return Link(type_, slug, locale, expires)


def parse_ttl(text: str) -> int:
    """`90`, `90s`, `30m`, `1h` or `7d` as seconds, 1 to MAX_TTL; ValueError otherwise."""
    match = _TTL.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 3600, 90s, 30m, 1h or 7d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 1 <= seconds <= MAX_TTL:
        raise ValueError(f"a preview link lasts 1 second to {MAX_TTL // 86400} days")
    return seconds


def link_url(api_url: str, type_: str, slug: str, locale: str, token: str) -> str:
    """The URL a signed link is: the item's own path, its locale named, and the token."""
    return f"{api_url}{TYPE_PATHS[type_]}/{slug}?locale={locale}&{TOKEN_PARAM}={token}"
