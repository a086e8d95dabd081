"""Responses prepared once per content revision: encoded, compressed, with their validators.

`Prepared` belongs to one `Revision` and one transition window of it (api/timeline.py).
When a new revision goes live, or the next transition passes, the delivery layer starts a
new `Prepared` and drops the old one whole, so a client never gets a body from one build
or window and a validator (or a neighbouring page) from another.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from email.utils import formatdate
from typing import Any

import brotli

from api.http.negotiation import IDENTITY, REVISION_HEADER, header_locale, http_date_seconds
from api.http.revision import Revision
from api.storage.reads import Reads
from api.timeline import Window, last_before

Header = tuple[bytes, bytes]
#: (path, the query's sorted pairs, the negotiated locale): everything an answer depends on
#: besides the revision and the transition window, which each `Prepared` has one of. Made from the
#: request's one view (api/reading.py), so every spelling of a request has one key.
Key = tuple[Any, ...]

#: Bodies smaller than this go uncompressed: the saving is lost in the headers.
MIN_COMPRESS_BYTES = 1024
GZIP_LEVEL = 6
#: Quality 5 compresses an article about as well as 11 for a tenth of the time, and a
#: response is compressed on its first request after a build (the target is ≤ 5 ms).
BROTLI_QUALITY = 5
#: What an entry costs beyond its bodies (objects, header lists, keys), roughly.
ENTRY_OVERHEAD = 600

#: Headers the framework's response may carry that this layer decides instead. A handler's
#: Last-Modified (from its content: api/controllers/modified.py) is kept.
_REPLACED = frozenset({b"content-length", b"etag", b"cache-control", b"vary", b"date", b"server"})
_MAX_LANGUAGES = 256
#: The header that names the content revision an answer was read from: an answer carried
#: into a later build names that one.
REVISION = REVISION_HEADER.lower().encode("ascii")
_COMPRESSIBLE = (b"text/", b"application/javascript", b"image/svg+xml")


def _compressible(content_type: bytes) -> bool:
    ct = content_type.lower()
    return ct.startswith(_COMPRESSIBLE) or b"json" in ct or b"xml" in ct


def preparable(status: int, headers: list[Header]) -> bool:
    """Whether the framework's answer may be prepared and shared with every client that
    asks the same: a 200 that does not say `Cache-Control: no-store`.

    The one place an answer opts out of preparation: a handler whose answer is for one
    client alone (a preview of unpublished content, say) sends `no-store`, and the delivery
    layer then asks the framework every time and passes the answer on as it came."""
    return status == 200 and not any(
        n.lower() == b"cache-control" and b"no-store" in v.lower() for n, v in headers
    )


def entity_tag(body: bytes) -> bytes:
    # Derived from the bytes alone, so every replica built from the same content agrees.
    digest = hashlib.sha256(body).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=")


class Variant:
    """One representation: its body and the headers of a 200 and of a 304."""

    __slots__ = ("body", "headers", "not_modified", "quoted", "tag")

    def __init__(self, *, body: bytes, tag: bytes, headers: list[Header], cache: list[Header]):
        self.body = body
        self.tag = tag
        self.quoted = b'"' + tag + b'"'
        etag = (b"etag", self.quoted)
        self.headers = [*headers, (b"content-length", str(len(body)).encode()), etag]
        # RFC 9110, 15.4.5: a 304 carries what a cache needs to update the response it
        # stored (ETag, Cache-Control, Vary; the server adds Date) and should not carry
        # other representation metadata: not Last-Modified (there is an ETag), not
        # Content-Language, and not the security headers, which the stored 200 has.
        self.not_modified = [etag, *cache]


class Entry:
    """A prepared response and the representations made of it so far."""

    __slots__ = (
        "cache", "compressible", "headers", "key", "last_modified_at", "made_with", "reads",
        "route", "size", "variants",
    )  # fmt: skip

    def __init__(
        self,
        key: Key,
        *,
        headers: list[Header],
        cache: list[Header],
        variants: dict[str, Variant],
    ):
        self.key = key
        self.headers = headers
        #: The headers a 304 repeats besides the ETag (Cache-Control and Vary).
        self.cache = cache
        self.variants = variants
        self.compressible = False
        #: The route template the framework matched, for the access log on later answers.
        self.route: str | None = None
        #: Last-Modified in POSIX seconds, for If-Modified-Since.
        self.last_modified_at = 0
        self.size = ENTRY_OVERHEAD
        #: The framework's own headers, for the same answer in a later build (`carry`).
        self.made_with: tuple[Header, ...] = ()
        #: What the answer read (api/storage/reads.py); None when not known.
        self.reads: Reads | None = None


class Prepared:
    """The prepared responses of one revision, bounded in bytes (least recently used go)."""

    def __init__(
        self,
        revision: Revision,
        window: Window,
        *,
        max_bytes: int,
        cache_control: bytes,
        vary: bytes,
        static_headers: list[Header] | None = None,
        lifetimes: tuple[int, int, int] | None = None,
    ) -> None:
        """`lifetimes` are the (max-age, stale-while-revalidate, stale-if-error) that
        `cache_control` names, capped near the window's end (`cache_control_at`)."""
        self.revision = revision
        #: Headers every answer carries, 200 and 304 alike, whatever the framework said.
        self.static_headers = static_headers or []
        self._replaced = _REPLACED | {name for name, _ in self.static_headers}
        #: The transition window these answers belong to (api/timeline.py): from its
        #: start every answer is as if a build had just landed, and none outlives `until`.
        self.window = window
        self.until = window.until
        self.lifetimes = lifetimes
        #: From this instant, a cache lifetime would reach past `until`: capped.
        self.cap_from = math.inf
        if lifetimes is not None and window.until != math.inf:
            max_age, swr, sie = lifetimes
            self.cap_from = window.until - (max_age + max(swr, sie))
        self._capped: tuple[int, bytes] = (-1, b"")
        #: From this instant the next window's answers are prepared ahead (api/http/ahead.py).
        self.ahead_from = math.inf
        self.max_bytes = max_bytes
        self.size = 0
        #: Answers dropped to stay within `max_bytes`.
        self.evicted = 0
        self.index: dict[Key, Entry] = {}
        self.lru: OrderedDict[Key, Entry] = OrderedDict()
        self.pending: dict[Key, asyncio.Future[Entry | None]] = {}
        self.vary = vary
        self.cache_control = cache_control
        # For answers whose handler gives no Last-Modified of its own (the site settings,
        # the OpenAPI document): the newest date of the content, the same on every replica.
        # No answer is older than the last expiry: an item leaving a list leaves no date
        # of its own in it, and If-Modified-Since must not keep the copy that still has it.
        # An instant of the content too, so every replica agrees.
        self.expired_at = last_before(revision.expiries, window.until)
        modified = max(revision.changed_before(window.until) or 0, self.expired_at)
        self.expired_header = formatdate(self.expired_at, usegmt=True).encode("ascii")
        self.last_modified_at = modified
        self.last_modified = formatdate(modified, usegmt=True).encode("ascii")
        #: Accept-Language as sent -> the locale it selects (`language`).
        self.languages: dict[bytes | None, str] = {}

    def language(self, accept_language: bytes | None) -> str:
        """The locale an Accept-Language header selects in this revision, as the handlers
        negotiate it (`header_locale`, api/http/negotiation.py): one prepared answer per
        locale, not per distinct header."""
        found = self.languages.get(accept_language)
        if found is None:
            revision = self.revision
            found = header_locale(accept_language, revision.locales) or revision.default_locale
            if len(self.languages) >= _MAX_LANGUAGES:
                self.languages.clear()
            self.languages[accept_language] = found
        return found

    def cache_control_at(self, now: float) -> bytes:
        """Cache-Control for an answer given at `now`, once its usual lifetimes would reach
        past the next transition (from `cap_from`). Every lifetime ends by the transition:
        a cache may then neither serve a scheduled item late nor an expired one after."""
        left = int(self.until - now) if now < self.until else 0
        if self._capped[0] == left:
            return self._capped[1]
        assert self.lifetimes is not None
        max_age, swr, sie = self.lifetimes
        fresh = min(max_age, left)
        value = (
            f"public, max-age={fresh}, stale-while-revalidate={min(swr, left - fresh)},"
            f" stale-if-error={min(sie, left - fresh)}"
        ).encode("latin-1")
        self._capped = (left, value)
        return value

    def get(self, key: Key) -> Entry | None:
        entry = self.index.get(key)
        if entry is not None:
            self.lru.move_to_end(entry.key)
        return entry

    def make(
        self,
        key: Key,
        status_headers: list[Header],
        body: bytes,
        tag: bytes | None = None,
        reads: Reads | None = None,
    ) -> Entry:
        """The entry for the framework's answer; `tag` is the body's `entity_tag`, if it was
        worked out elsewhere (api/http/preparer.py), and `reads` what the answer read."""
        kept = []
        vary = [self.vary]
        last_modified, last_modified_at = self.last_modified, self.last_modified_at
        for name, value in status_headers:
            name = name.lower()
            if name == b"vary":
                vary.append(value)  # what the handler said it depends on (Accept-Language)
            elif name == b"last-modified":
                seconds = http_date_seconds(value)
                if seconds is not None and seconds < self.expired_at:
                    value, seconds = self.expired_header, self.expired_at
                if seconds is not None:
                    last_modified, last_modified_at = value, seconds
            elif name not in self._replaced and not name.startswith(b"access-"):
                kept.append((name, value))
        content_type = next((v for n, v in kept if n == b"content-type"), b"")
        encoded = any(n == b"content-encoding" for n, _ in kept)
        cache = [(b"cache-control", self.cache_control), (b"vary", _merge_vary(vary))]
        headers = [*kept, *cache, (b"last-modified", last_modified), *self.static_headers]
        tag = entity_tag(body) if tag is None else tag
        identity = Variant(body=body, tag=tag, headers=headers, cache=cache)
        entry = Entry(key, headers=headers, cache=cache, variants={IDENTITY: identity})
        entry.last_modified_at = last_modified_at
        entry.compressible = (
            len(body) >= MIN_COMPRESS_BYTES and not encoded and _compressible(content_type)
        )
        entry.size += len(body) + sum(len(n) + len(v) for n, v in headers)
        entry.size += len(key[0]) + sum(len(n) + len(v) for n, v in key[1])  # a long query
        entry.made_with = tuple(status_headers)
        entry.reads = reads
        return entry

    def carry(self, old: Entry) -> Entry:
        """`old`, an answer of the previous build that this build did not change
        (api/storage/reads.py), kept in this set as the framework would now make it: the
        same body, validators and compressed bytes, with this set's headers (its
        Last-Modified where the handler gave none, the revision it names)."""
        revision = self.revision.fingerprint[1].encode("ascii")
        made_with = [(n, revision if n.lower() == REVISION else v) for n, v in old.made_with]
        identity = old.variants[IDENTITY]
        entry = self.make(old.key, made_with, identity.body, identity.tag, old.reads)
        entry.route = old.route
        self.store(entry)
        self.adopt(entry, old, {})
        return entry

    def store(self, entry: Entry) -> None:
        if entry.key in self.index or entry.size > self.max_bytes // 4:
            return  # too large to keep: it is served, but prepared again next time
        self.index[entry.key] = entry
        self.lru[entry.key] = entry
        self.size += entry.size
        self._evict()

    def variant(self, entry: Entry, coding: str) -> Variant:
        """The representation in `coding`, compressed on first use and kept."""
        found = entry.variants.get(coding)
        if found is not None:
            return found
        identity = entry.variants[IDENTITY]
        return self._install(entry, coding, compress(identity.body, coding))

    def _install(self, entry: Entry, coding: str, body: bytes) -> Variant:
        """`body`, the identity body compressed in `coding`, as the entry's variant."""
        identity = entry.variants[IDENTITY]
        if len(body) >= len(identity.body):
            variant = identity
        else:
            tag = identity.tag + b"-" + coding.encode()
            headers = [*entry.headers, (b"content-encoding", coding.encode())]
            variant = Variant(body=body, tag=tag, headers=headers, cache=entry.cache)
            if entry.key in self.index:
                entry.size += len(body)
                self.size += len(body)
        entry.variants[coding] = variant
        self._evict()
        return variant

    def adopt(self, entry: Entry, old: Entry, compressed: Mapping[str, bytes]) -> None:
        """Make the representations `old` had (an answer to the same request in an earlier
        set) for `entry`, so none is compressed on a request's time: where the body is the
        same, the compressed bytes are taken over; else they are `compressed` (made
        elsewhere: `compress`), or made now."""
        same = old.variants[IDENTITY].body == entry.variants[IDENTITY].body
        for coding, variant in old.variants.items():
            if coding in entry.variants:
                continue
            body = variant.body if same else compressed.get(coding)
            if body is None:
                self.variant(entry, coding)
            else:
                self._install(entry, coding, body)

    def _evict(self) -> None:
        while self.size > self.max_bytes and self.lru:
            _, entry = self.lru.popitem(last=False)
            self.evicted += 1
            self.index.pop(entry.key, None)
            self.size -= entry.size


def compress(body: bytes, coding: str) -> bytes:
    """`body` in `coding` (br or gzip). Both libraries let other threads run meanwhile."""
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def compress_all(body: bytes, codings: Iterable[str]) -> dict[str, bytes]:
    return {coding: compress(body, coding) for coding in codings}


def _merge_vary(values: list[bytes]) -> bytes:
    names: dict[bytes, bytes] = {}
    for value in values:
        for name in value.split(b","):
            name = name.strip()
            if name:
                names.setdefault(name.lower(), name)
    return b", ".join(names.values())
