"""The preview gate: who may see content that is not live, and keeping it to them.

A request is a *preview request* when it names `channel=preview`, `at=` or
`preview_token=` (read from the request's one view, api/reading.py, so every spelling of
the names counts), or is sent to POST /v1/preview-links. Every other request passes
through untouched, to the keys and the prepared answers.

A preview request is judged here and nowhere else, whether or not keys are configured for
the other channels:

- `channel=preview` needs a key of the `preview` channel; `at=` and making signed links
  need a `preview` or an `editor` key. No such key configured: 403 (no key could help);
  no key sent, or one that is not valid: 401 with the Bearer challenge, as the key layer
  answers; a valid key of another channel: 403. With keys on for the other channels, a
  channel that is served overdue items still needs its own key (api/middleware/keys.py).
- `preview_token=` needs no key: a valid, unexpired token for the very path and locale
  asked opens that item; anything else is 401 with the reason, never the public version.

An admitted request skips the prepared answers (api/http) and goes straight to the
framework, with its judgement in `api.preview.VIEWPOINT` for the handlers. Its answer,
whatever the status, is `Cache-Control: private, no-store` with `X-Robots-Tag: noindex`:
no shared cache, no prepared answer and no search engine keeps it, and a public request
after it is prepared from public content alone.
"""

from __future__ import annotations

import datetime as dt
import re

from api.controllers.pipeline import parse_moment
from api.errors import PROBLEM_MEDIA_TYPE, BadParameters, problem_bytes
from api.http.cors import Cors
from api.middleware.keys import CHALLENGE, Refusal
from api.middleware.types import ASGIApp, Headers, Message, Receive, Scope, Send, context
from api.preview import (
    AT_PARAM,
    LINKS_PATH,
    PREVIEW_CHANNEL,
    TIME_KEYS,
    TOKEN_PARAM,
    VIEWPOINT,
    LinkError,
    Viewpoint,
    verify,
)
from api.reading import RequestReader, RequestView, view_of
from api.settings import Settings

PRIVATE: Headers = [(b"cache-control", b"private, no-store"), (b"x-robots-tag", b"noindex")]
_DROPPED = frozenset({b"cache-control", b"etag", b"x-robots-tag"})
_PREVIEW_KEYS = frozenset({PREVIEW_CHANNEL})
_TRIGGERS = frozenset({AT_PARAM, TOKEN_PARAM})
_FRACTION = re.compile(r"\.[0-9]+", re.ASCII)
#: The instants `at` is taken within.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def is_preview_request(view: RequestView) -> bool:
    """Whether the request names anything that shows content not live now."""
    if view.path == LINKS_PATH:
        return True
    if not view.query:
        return False
    if PREVIEW_CHANNEL in view.channels:
        return True
    return any(name in _TRIGGERS for name, _ in view.query)


def parse_at(value: str) -> float:
    """An `at=` value as POSIX seconds (RFC 3339, as strictly as the other date-times)."""
    try:
        utc = parse_moment(AT_PARAM, value)
    except BadParameters as exc:
        raise ValueError(exc.params[0].reason) from None
    assert utc is not None
    moment = dt.datetime.strptime(utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    if not EARLIEST <= moment <= LATEST:
        # Review dates are counted from the instant's day (up to ten years on): clamped far
        # enough from the calendar's ends that no date computed from it overflows. Nothing
        # the content says happens before 1970 or after 9000, so the answer is the same.
        return (EARLIEST if moment < EARLIEST else LATEST).timestamp()
    # parse_moment keeps whole seconds; the instant asked for may fall within one.
    fraction = _FRACTION.match(value, 19)
    return moment.timestamp() + (float(fraction.group(0)) if fraction else 0.0)


class PreviewGate:
    def __init__(
        self,
        app: ASGIApp,
        framework: ASGIApp,
        reader: RequestReader,
        settings: Settings,
        cors: Cors,
    ) -> None:
        """`app` is the next layer for every other request; `framework` is Litestar's
        handler, which preview requests go to directly, past the prepared answers."""
        self.app = app
        self.framework = framework
        self.reader = reader
        self.configured = frozenset(channel for channel, _ in settings.api_keys)
        self.keys_on = bool(settings.public_keys)
        self.privileged = settings.serve_overdue
        self.secret = settings.preview_secret
        self.cors = cors

    def _key(self, view: RequestView, allowed: frozenset[str], what: str) -> str | Refusal:
        """The channel of the key offered, if it is one of `allowed`; else why not."""
        names = " or ".join(
            f"{'an' if channel[0] in 'aeiou' else 'a'} {channel}"
            for channel in sorted(allowed, reverse=True)
        )
        if not self.configured & allowed:
            return Refusal(
                403,
                f"{what} is not available on this server: it needs {names} key, and this"
                " server configures none (CLINIC_API_KEYS).",
            )
        if not view.key_offered:
            detail = f"{what} needs {names} key: send it as X-API-Key or Authorization: Bearer."
            return Refusal(401, detail, CHALLENGE)
        channel = view.key_channel
        if channel is None:
            return Refusal(401, "The API key is not valid.", CHALLENGE)
        if channel not in allowed:
            return Refusal(403, f"{what} needs {names} key, not a key of the {channel} channel.")
        return channel

    def judge(self, view: RequestView, method: str) -> Viewpoint | Refusal | None:
        """None for a request that is not a preview; else how it is admitted, or why not."""
        if not is_preview_request(view):
            return None
        links = view.path == LINKS_PATH
        if method not in ("GET", "HEAD") and not (links and method == "POST"):
            return None  # nothing to show: the framework answers 405
        tokens = [value for name, value in view.query if name == TOKEN_PARAM]
        at_values = [value for name, value in view.query if name == AT_PARAM]
        wants_preview = PREVIEW_CHANNEL in view.channels
        if tokens and not (at_values or wants_preview or links):
            return self._link(view, tokens)
        # A link opens its item as it is now, alone: with `at` or the preview channel the
        # request needs the key those need, whatever token it carries.
        at = None
        for value in at_values:
            try:
                at = parse_at(value)
            except ValueError as exc:
                return Refusal(400, f"Invalid parameter(s) at. at: {exc}")
        if wants_preview:
            admitted = self._key(view, _PREVIEW_KEYS, "channel=preview")
        elif links:
            admitted = self._key(view, TIME_KEYS, "Making a preview link")
        else:
            admitted = self._key(view, TIME_KEYS, "at=")
        if isinstance(admitted, Refusal):
            return admitted
        if self.keys_on:
            # As the key layer would have judged it, had the request gone there.
            for value in view.channels:
                if value in self.privileged and value != admitted:
                    return Refusal(403, f"channel={value} needs a key of the {value} channel.")
        return Viewpoint(
            at=at,
            preview=wants_preview,
            may_link=links,
            key_channel=admitted,
        )

    def _link(self, view: RequestView, tokens: list[str]) -> Viewpoint | Refusal:
        if self.secret is None:
            return Refusal(
                401,
                "This preview link cannot be opened: preview links are not enabled on this"
                " server (CLINIC_PREVIEW_SECRET).",
            )
        if len(tokens) > 1:
            return Refusal(400, f"Invalid parameter(s) {TOKEN_PARAM}. given more than once")
        try:
            link = verify(self.secret, tokens[0])
        except LinkError as exc:
            return Refusal(401, str(exc))
        locales = [value for name, value in view.query if name == "locale"]
        if view.path != link.path or locales != [link.locale]:
            return Refusal(
                401,
                f"This preview link opens {link.path}?locale={link.locale} only, as it was given.",
            )
        return Viewpoint(link=link)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        view = view_of(scope, self.reader)
        judged = self.judge(view, scope["method"])
        if judged is None:
            await self.app(scope, receive, send)
            return
        extra = [*PRIVATE, *(self.cors.response_headers(view.origin) if view.origin else [])]
        if isinstance(judged, Refusal):
            body = problem_bytes(judged.status, judged.detail, instance=scope["path"])
            headers = [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *(judged.headers or []),
                *extra,
            ]
            await send({"type": "http.response.start", "status": judged.status, "headers": headers})
            await send(
                {"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""}
            )
            return
        context(scope)["channel"] = judged.key_channel or "preview-link"
        head = scope["method"] == "HEAD"
        inner = dict(scope, method="GET") if head else scope

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (n, v) for n, v in message.get("headers") or [] if n.lower() not in _DROPPED
                ]
                message = {**message, "headers": headers + extra}
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        token = VIEWPOINT.set(judged)
        try:
            await self.framework(inner, receive, private)
        finally:
            VIEWPOINT.reset(token)
        if inner is not scope and "path_template" in inner:
            scope["path_template"] = inner["path_template"]
