"""Webhook endpoints from CLINIC_WEBHOOKS_FILE, and Standard Webhooks signatures.

The file is YAML, outside content/ (content is public, in git; the file holds secrets):

```yaml
endpoints:
  - name: website                 # how the CLI and the outbox name it
    url: https://www.clinic.example/hooks/clinic-content
    secrets:                      # whsec_ + base64 of 24 to 64 random bytes
      - whsec_...                 # during a rotation: the new one and the old one
    events: [item.published, item.updated, item.unpublished]   # optional: every type
```

It is read once, at start-up, and checked whole: a mistake stops the server with a message
naming the file and the field, and never repeats a secret's value.

Signing (https://www.standardwebhooks.com): `webhook-signature` is one `v1,<base64 of
HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` per secret, space-separated, where the key is
the base64-decoded secret after `whsec_`. It is a few lines of the standard library rather
than a dependency; the test suite checks every delivery with the specification's own
library (`standardwebhooks`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from api.events.log import EVENT_TYPES

SECRET_PREFIX = "whsec_"
#: The specification's bounds on a symmetric secret: 24 bytes (192 bits) to 64 (512 bits).
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_URL = re.compile(r"https?://[^/?#\s@]+(/[^#\s]*)?")
_FIELDS = {"name", "url", "secrets", "events"}


class WebhooksError(ValueError):
    """The webhooks file cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    url: str
    #: The decoded keys, newest first; never shown (repr) or logged.
    keys: tuple[bytes, ...] = field(repr=False)
    #: Event types the endpoint receives.
    events: frozenset[str] = frozenset(EVENT_TYPES)


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; ValueError (saying what is wrong, not the value)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"does not start with {SECRET_PREFIX}")
    body = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"is not {SECRET_PREFIX} followed by base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"decodes to {len(key)} bytes; a secret is {MIN_SECRET_BYTES} to"
            f" {MAX_SECRET_BYTES} random bytes"
        )
    return key


def load_webhooks(path: Path, content_dir: Path | None = None) -> tuple[Endpoint, ...]:
    """The endpoints of a webhooks file, checked; WebhooksError names what is wrong."""
    where = f"CLINIC_WEBHOOKS_FILE ({path})"
    if content_dir is not None:
        try:
            inside = path.resolve().is_relative_to(content_dir.resolve())
        except OSError:
            inside = False
        if inside:
            raise WebhooksError(
                f"{where}: must not be inside the content folder ({content_dir}), which is"
                " published; keep the secrets elsewhere"
            )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WebhooksError(f"{where}: cannot be read ({type(exc).__name__})") from None
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Only the position: the YAML library's message quotes the text, which may be a secret.
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise WebhooksError(f"{where}: not valid YAML{at}") from None
    if not isinstance(doc, dict) or set(doc) != {"endpoints"}:
        raise WebhooksError(f"{where}: expected a mapping with one key, `endpoints`")
    entries = doc["endpoints"]
    if not isinstance(entries, list):
        raise WebhooksError(f"{where}: endpoints: expected a list")
    endpoints: list[Endpoint] = []
    for index, entry in enumerate(entries):
        at = f"{where}: endpoints[{index}]"
        if not isinstance(entry, dict):
            raise WebhooksError(f"{at}: expected a mapping with name, url, secrets, events")
        unknown = sorted(map(str, set(entry) - _FIELDS))
        if unknown:
            raise WebhooksError(
                f"{at}: unknown field {unknown[0]!r}; fields: name, url, secrets, events"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise WebhooksError(
                f"{at}.name: expected a short name of lower-case letters, digits, - and _"
            )
        if any(e.name == name for e in endpoints):
            raise WebhooksError(f"{at}.name: {name!r} is used twice")
        url = entry.get("url")
        if not isinstance(url, str) or not _URL.fullmatch(url):
            raise WebhooksError(f"{at}.url: expected an absolute http:// or https:// URL")
        secrets = entry.get("secrets")
        if not isinstance(secrets, list) or not secrets:
            raise WebhooksError(f"{at}.secrets: expected a list of one or more whsec_ secrets")
        keys: list[bytes] = []
        for number, secret in enumerate(secrets):
            if not isinstance(secret, str):
                raise WebhooksError(f"{at}.secrets[{number}]: expected a whsec_ secret")
            try:
                keys.append(decode_secret(secret))
            except ValueError as exc:
                raise WebhooksError(f"{at}.secrets[{number}]: {exc}") from None
        kinds = entry.get("events", list(EVENT_TYPES))
        if not isinstance(kinds, list) or not kinds:
            raise WebhooksError(f"{at}.events: expected a list of event types")
        for number, kind in enumerate(kinds):
            if kind not in EVENT_TYPES:
                raise WebhooksError(
                    f"{at}.events[{number}]: unknown event type; types: {', '.join(EVENT_TYPES)}"
                )
        endpoints.append(Endpoint(name, url, tuple(keys), frozenset(kinds)))
    return tuple(endpoints)


def signature(keys: tuple[bytes, ...], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,` signature per key, space-separated."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
        for key in keys
    )


def headers(endpoint: Endpoint, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt."""
    return {
        "content-type": "application/json",
        "user-agent": "clinic-content-api-webhooks",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(endpoint.keys, msg_id, timestamp, body),
    }
