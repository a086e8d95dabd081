"""The ASGI application: `uvicorn api.app:app`, or `create_app(settings)` for tests."""

from __future__ import annotations

import copy
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast, get_args

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ParamType
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Components,
    Contact,
    Discriminator,
    Example,
    Link,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
    Schema,
    SecurityScheme,
    Server,
    Tag,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.types import LifeSpanReceive, LifeSpanScope, LifeSpanSend, Receive, Scope, Send

from api.build.load import load_site
from api.controllers.docs import ASSETS_PATH, FAVICON, DocsPage, docs_asset, docs_router
from api.controllers.events import EventController, EventLog
from api.controllers.faq_topics import FaqTopicController
from api.controllers.feeds import FeedController
from api.controllers.kiosk import KIOSK_DROPS
from api.controllers.kiosk_app import kiosk_file, kiosk_page
from api.controllers.locales import negotiate
from api.controllers.parameters import Rule, check_parameters, parameter_rules
from api.controllers.pipeline import REVISION_HEADER, LocaleParam, StoreDep
from api.controllers.preview_links import create_preview_link, document_preview
from api.controllers.responses import BAD_REQUEST, UNAVAILABLE, site_responses
from api.controllers.search import SearchController
from api.controllers.sitemap import SitemapController
from api.controllers.sync import SyncController
from api.errors import bad_param, handle_exception, problem_type
from api.events.dispatch import Dispatcher
from api.events.transitions import Transitions
from api.http import document_delivery
from api.metrics import CONTENT_TYPE_LATEST, Metrics
from api.middleware import wrap
from api.middleware.fast import FastPath
from api.middleware.guard import Guard
from api.middleware.types import ASGIApp
from api.normalize import document_bytes
from api.registry import TYPES, content_controllers
from api.settings import Settings
from api.storage.reader import DatabaseUnavailable, Store
from schemas.resources import Health, Rendition, Site

__all__ = ["app", "create_app", "openapi_document"]

VERSION = "1.0.0"
DESCRIPTION = """\
Structured patient content of the clinic — articles, conditions, symptoms, treatments and
FAQs — for the website, the waiting-room kiosk, the newsletter and integrators.

Lists answer `{"data": [...], "meta": {"total", "limit", "next_cursor"}}` and page with an
opaque `cursor` (a `Link: rel="next"` header points at the next page). Every error is
`application/problem+json` (RFC 9457); a refused parameter is named, with the reason, in
`invalid_params`. Unknown query parameters are refused rather than ignored.

Every item carries `review_status` (`current`, `due` or `overdue`), computed from today's
date when the request is answered. The `channel` parameter says who will show the content;
channels not listed in the server's CLINIC_SERVE_OVERDUE are not served overdue items. A
withdrawn item answers 410 Gone, naming its replacement in `superseded_by`.

Content lives in time: a draft, or an item before its `published_at`, answers 404 as an
unknown one does and is in no list; after its `expires_at` it answers 410 Gone. Answers
change at each go-live, expiry and review transition without a build (new ETags), and no
`Cache-Control` lifetime reaches past the next transition. `/v1/sync` reports transitions
as changes, and each synced item's `hide_after` says when its channel stops showing it.

**Kiosk.** `channel=kiosk` on the content, search and FAQ operations is the waiting-room
preset: besides leaving out overdue items, it renders plain text only — no `body_html`,
`answer_html` or `toc`; FAQs keep `short_answer` (at most 280 characters) and `answer_text`,
and search snippets carry no `<mark>` tags.

**Languages.** `locale=` wins, then the `Accept-Language` header (q-values honoured), then
the site's default locale. An item missing in the chosen language is served in the default
one instead: its `locale` field and the `Content-Language` header say so.

Every successful GET carries a strong `ETag`, `Last-Modified` and `Cache-Control`; send
`If-None-Match` (or `If-Modified-Since`) to get `304 Not Modified`, and `If-Match` (or
`If-Unmodified-Since`) to get `412 Precondition Failed` unless your copy is current. HEAD
works wherever GET does. Bodies of 1 KB or more are gzip- or brotli-compressed when
`Accept-Encoding` allows.

When the deployment configures channel keys, send yours as `X-API-Key` (or
`Authorization: Bearer`); /health, /ready and /docs never need one. Requests are
rate-limited per key, or per client address without one: `RateLimit-*` headers say how
much is left, and a refused request gets `429` with `Retry-After`. Every response carries
an `X-Request-ID` (yours, if you send a sane one) to quote when reporting a problem.
"""


async def provide_store(state: State) -> Store:
    store: Store | None = state.get("store")
    if store is None:
        # The server may have started before the first build; look again on each request.
        store = await Store.open(state.settings.db_path)
        store.review_policy = state.settings.review_policy
        state.store = store
    return store


def documented_query_names(schema: OpenAPI) -> dict[str, frozenset[str]]:
    """Each operation's query parameters as the OpenAPI document lists them, by operation
    id: the handler's own and those of its dependencies."""
    names: dict[str, frozenset[str]] = {}
    for item in (schema.paths or {}).values():
        operation = item.get
        if operation is not None and operation.operation_id:
            names[operation.operation_id] = frozenset(
                p.name
                for p in operation.parameters or []
                if isinstance(p, Parameter) and p.param_in == ParamType.QUERY
            )
    return names


async def reject_unknown_parameters(request: Request[Any, Any, Any]) -> None:
    """Refuse query parameters the operation does not define, so typos do not pass silently."""
    handler = request.route_handler
    if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
        return
    query_names: dict[str, frozenset[str]] = request.app.state.query_names
    allowed = query_names.get(str(handler.operation_id), frozenset())
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise bad_param(
            unknown[0],
            f"unknown parameter; this operation accepts: {', '.join(sorted(allowed)) or 'none'}",
        )
    for name, values in request.query_params.dict().items():
        if len(values) > 1:
            raise bad_param(name, "given more than once")
    # Integers and patterns as the document states them, before the framework's lax reading.
    rules: dict[str, tuple[Rule, ...]] = request.app.state.parameter_rules
    check_parameters(
        rules.get(str(handler.operation_id), ()), request.query_params, request.path_params
    )


@get("/v1/site", operation_id="getSite", summary="Get the site settings", tags=["site"],
     responses=site_responses())  # fmt: skip
async def get_site(
    request: Request[Any, Any, Any], store: StoreDep, locale: LocaleParam = None
) -> Response[Site]:
    """The clinic's name, base URL, medical disclaimer, locales and current content revision."""
    async with store.snapshot():
        meta = await store.refresh_meta()
    if "site" not in meta:
        raise DatabaseUnavailable("no build yet")
    negotiated = negotiate(store, request, locale)
    site = msgspec.json.decode(meta["site"])
    words = site.get("translations", {}).get(negotiated.locale, {})
    served = negotiated.locale if words or negotiated.locale == negotiated.default else None
    body = Site(
        locale=served or negotiated.default,
        name=words.get("name") or site["name"],
        base_url=site["base_url"],
        description=words.get("description") or site["description"],
        disclaimer=words.get("disclaimer") or site["disclaimer"],
        default_locale=site["default_locale"],
        locales=site["locales"],
        phone=site.get("phone"),
        email=site.get("email"),
        address=words.get("address") or site.get("address"),
        content_revision=int(meta["content_revision"]),
        content_hash=meta["content_hash"],
    )
    headers = {**negotiated.headers([body.locale]), REVISION_HEADER: meta["content_revision"]}
    return Response(body, headers=headers)


@get("/health", operation_id="getHealth", summary="Liveness", tags=["operations"],
     responses={400: BAD_REQUEST})  # fmt: skip
async def health() -> Health:
    """Answers while the process is alive."""
    return Health(status="ok")


@get("/ready", operation_id="getReady", summary="Readiness", tags=["operations"],
     responses={400: BAD_REQUEST, 503: UNAVAILABLE})  # fmt: skip
async def ready(state: State) -> Health:
    """Answers 200 once the database is open and content is loaded, 503 before."""
    store = await provide_store(state)
    meta = await store.refresh_meta()
    if "content_revision" not in meta:
        raise DatabaseUnavailable("no build yet")
    return Health(status="ok", content_revision=int(meta["content_revision"]))


@get("/metrics", include_in_schema=False, media_type=CONTENT_TYPE_LATEST)
async def metrics(state: State) -> bytes:
    """Prometheus metrics: requests and latency by route and status, content revision."""
    registry: Metrics = state.metrics
    try:
        store = await provide_store(state)
        registry.observe_content({**await store.refresh_meta(), **await store.build_stats()})
    except DatabaseUnavailable:
        registry.observe_content({})
    return registry.render()


def _header(description: str, kind: OpenAPIType = OpenAPIType.STRING) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=kind), description=description, required=False)


REQUEST_ID = _header("The request's id: the client's X-Request-ID if sane, else a new one.")
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": _header("Requests allowed per window.", OpenAPIType.INTEGER),
    "RateLimit-Remaining": _header("Requests left in this window.", OpenAPIType.INTEGER),
    "RateLimit-Reset": _header("Seconds until the window resets.", OpenAPIType.INTEGER),
    "RateLimit-Policy": _header("The limit as `requests;w=seconds`."),
}


SPARSE_FIELDS = ("type", "slug", "locale")


def _document_sparse_lists(app: Litestar) -> None:
    """With `fields`, list items carry only the fields asked for (and type, slug, locale):
    each `...List` says its items are the full summary or such a sparse one."""
    schemas = app.openapi_schema.components.schemas or {}
    for name, component in list(schemas.items()):
        data = (component.properties or {}).get("data") if name.endswith("List") else None
        if not isinstance(data, Schema) or not isinstance(data.items, Reference):
            continue
        summary_name = data.items.ref.rsplit("/", 1)[-1]
        sparse = copy.deepcopy(schemas[summary_name])
        sparse.title = f"{summary_name}Fields"
        sparse.description = f"A {summary_name} with only the fields named in `fields`."
        sparse.required = list(SPARSE_FIELDS)
        if sparse.properties and "included" in sparse.properties:
            # Embedded items follow the list's rendition (e.g. the kiosk's, without HTML).
            sparse.properties["included"] = Schema(
                type=OpenAPIType.OBJECT, description="Related items, as asked for."
            )
        if sparse.properties and "rendition" in sparse.properties:
            # A sparse item may come from either rendition.
            sparse.properties["rendition"] = Schema(
                type=OpenAPIType.STRING,
                enum=list(get_args(Rendition)),
                description="`full`, or `kiosk` with `channel=kiosk`.",
            )
        schemas[sparse.title] = sparse
        data.items = Schema(
            any_of=[data.items, Reference(ref=f"#/components/schemas/{sparse.title}")]
        )


def _document_kiosk_rendition(app: Litestar) -> None:
    """With `channel=kiosk` an item comes without its HTML (api.controllers.kiosk): each
    item operation says its answer is the full item or such a plain-text rendition, told
    apart by `rendition` (a discriminator), and lists of such items say the same of theirs."""
    schema = app.openapi_schema
    schemas = schema.components.schemas or {}
    for item in (schema.paths or {}).values():
        operation = item.get
        response = (operation.responses or {}).get("200") if operation else None
        if not isinstance(response, OpenAPIResponse) or not response.content:
            continue
        media = response.content.get("application/json")
        if media is None or not isinstance(media.schema, Reference):
            continue
        name = media.schema.ref.rsplit("/", 1)[-1]
        full = schemas.get(name)
        if full is None or not KIOSK_DROPS & set(full.properties or {}):
            continue
        kiosk_name = _kiosk_variant(schemas, name)
        media.schema = Schema(
            one_of=[media.schema, _ref(kiosk_name)],
            discriminator=Discriminator(
                property_name="rendition",
                mapping={"full": _ref(name).ref, "kiosk": _ref(kiosk_name).ref},
            ),
        )
    for name, component in list(schemas.items()):
        data = (component.properties or {}).get("data") if name.endswith("List") else None
        items = data.items if isinstance(data, Schema) else None
        if not isinstance(items, Schema) or not items.any_of:
            continue
        first = items.any_of[0]
        if isinstance(first, Reference) and f"{first.ref.rsplit('/', 1)[-1]}Kiosk" in schemas:
            kiosk_name = f"{first.ref.rsplit('/', 1)[-1]}Kiosk"
            items.any_of = [first, _ref(kiosk_name), *items.any_of[1:]]
    _document_sync_renditions(schemas)


def _document_sync_renditions(schemas: dict[str, Schema]) -> None:
    """A synced item is in the channel's rendition: with `channel=kiosk`, the plain-text one."""
    upsert = schemas.get("SyncUpsert")
    item = (upsert.properties or {}).get("item") if upsert is not None else None
    if not isinstance(item, Schema) or not item.one_of:
        return
    variants = list(item.one_of)
    for ref in item.one_of:
        name = ref.ref.rsplit("/", 1)[-1] if isinstance(ref, Reference) else ""
        full = schemas.get(name)
        if full is not None and KIOSK_DROPS & set(full.properties or {}):
            variants.append(_ref(_kiosk_variant(schemas, name)))
    item.one_of = variants
    item.description = "The item in the channel's rendition (`rendition` says which)."


def _document_events(app: Litestar) -> None:
    """An event's `type` tells its kind (and the shape of its `data`): a discriminator, so
    typed clients narrow on it as on `rendition`."""
    schemas = app.openapi_schema.components.schemas or {}
    data = (schemas["EventPage"].properties or {}).get("data")
    items = data.items if isinstance(data, Schema) else None
    if not isinstance(items, Schema) or not items.one_of:
        return
    mapping: dict[str, str] = {}
    for ref in items.one_of:
        assert isinstance(ref, Reference)
        kind = (schemas[ref.ref.rsplit("/", 1)[-1]].properties or {})["type"]
        assert isinstance(kind, Schema)
        mapping[str(kind.const)] = ref.ref
    items.discriminator = Discriminator(property_name="type", mapping=mapping)


def _ref(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def _kiosk_variant(schemas: dict[str, Schema], name: str) -> str:
    """The `{name}Kiosk` component: `name` without the fields the kiosk never gets."""
    kiosk_name = f"{name}Kiosk"
    if kiosk_name in schemas:
        return kiosk_name
    kiosk = copy.deepcopy(schemas[name])
    kiosk.title = kiosk_name
    kiosk.description = f"A {name} as `channel=kiosk` gets it: plain text, no HTML."
    kiosk.properties = {k: v for k, v in (kiosk.properties or {}).items() if k not in KIOSK_DROPS}
    if "included" in kiosk.properties:
        kiosk.properties["included"] = Schema(
            type=OpenAPIType.OBJECT, description="Related items, as the kiosk gets them."
        )
    kiosk.properties["rendition"] = Schema(
        type=OpenAPIType.STRING,
        const="kiosk",
        description="`kiosk`: the plain-text rendition `channel=kiosk` asked for.",
    )
    kiosk.required = [r for r in kiosk.required or [] if r not in KIOSK_DROPS]
    schemas[kiosk_name] = kiosk
    return kiosk_name


def _document_cursor_links(app: Litestar) -> None:
    """A cursor is valid only if this API issued it, which no schema can say: each paged
    operation links its 200 answer's `meta.next_cursor` to its own `cursor`, with the rest
    of the query as it was, so clients and stateful testers follow real cursors."""
    for item in (app.openapi_schema.paths or {}).values():
        operation = item.get
        if operation is None or operation.responses is None:
            continue
        names = [p.name for p in operation.parameters or [] if isinstance(p, Parameter)]
        ok = operation.responses.get("200")
        if "cursor" not in names or not isinstance(ok, OpenAPIResponse):
            continue
        parameters: dict[str, Any] = {
            name: f"$request.query.{name}" for name in names if name != "cursor"
        }
        parameters["cursor"] = "$response.body#/meta/next_cursor"
        ok.links = {
            "next": Link(
                operation_id=operation.operation_id,
                parameters=parameters,
                description="The next page (or, for sync, the next changes): the same query,"
                " with `meta.next_cursor` as `cursor`.",
            )
        }


#: List operation → the operation that gets one of its items, and the field that names it.
ITEM_LINKS = {
    "listArticles": ("getArticle", "slug"),
    "listConditions": ("getCondition", "slug"),
    "listSymptoms": ("getSymptom", "slug"),
    "listTreatments": ("getTreatment", "slug"),
    "listFaqs": ("getFaq", "slug"),
}


def _document_item_links(app: Litestar) -> None:
    """Each list's 200 links its first item's slug to the operation that gets that item."""
    for item in (app.openapi_schema.paths or {}).values():
        operation = item.get
        target = ITEM_LINKS.get(str(operation.operation_id)) if operation else None
        ok = (operation.responses or {}).get("200") if operation else None
        if target is None or not isinstance(ok, OpenAPIResponse):
            continue
        operation_id, field_name = target
        links = dict(ok.links or {})
        links["item"] = _item_link(operation_id, field_name, "An item of the list, by its slug.")
        if operation_id == "getFaq":
            links["topic"] = _item_link("getFaqTopic", "topic", "The topic of the list's FAQ.")
        ok.links = links


def _item_link(operation_id: str, field_name: str, description: str) -> Link:
    return Link(
        operation_id=operation_id,
        parameters={
            "slug": f"$response.body#/data/0/{field_name}",
            "locale": "$request.query.locale",
            "channel": "$request.query.channel",
        },
        description=description,
    )


def _document_locales(app: Litestar, settings: Settings) -> None:
    """`locale` takes the site's locales only (api/controllers/locales.py): list them, from
    the site settings in the content folder the document is built with."""
    site = load_site(settings.content_dir)
    if site is None:
        return
    locales = sorted(site.locales, key=lambda loc: (loc != site.default_locale, loc))
    named = ", ".join(f"`{loc}`" for loc in locales)
    # One named schema, so a generated client has one `Locale` type rather than one per
    # operation.
    components = app.openapi_schema.components
    components.schemas = dict(components.schemas or {})
    components.schemas["Locale"] = Schema(
        type=OpenAPIType.STRING,
        enum=list(locales),
        title="Locale",
        description=f"One of the site's locales: {named}; the default first.",
    )
    for path, item in (app.openapi_schema.paths or {}).items():
        for parameter in (item.get.parameters or []) if item.get else []:
            if isinstance(parameter, Parameter) and parameter.name == "locale":
                parameter.schema = Reference(ref="#/components/schemas/Locale")
                parameter.description = (
                    f"Language of the content, one of the site's locales: {named}. Without"
                    f" it, `Accept-Language` chooses, else the default (`{site.default_locale}`)."
                )
                if path == "/v1/sync":  # a copy in one language, or in all of them
                    parameter.description = (
                        f"Only items in this locale, one of the site's locales: {named}."
                        " Every locale when omitted."
                    )


def _document_http_layers(app: Litestar) -> None:
    """Add what the HTTP layers outside Litestar (api.middleware) do to the document:
    keys as optional security, and the headers they set on each response."""
    schema = app.openapi_schema
    for path, item in (schema.paths or {}).items():
        operation = item.get
        if operation is None:
            continue
        guarded = path.startswith("/v1/")
        if guarded:
            # Keys are optional per deployment, hence the empty requirement.
            operation.security = [{"ApiKey": []}, {"Bearer": []}, {}]
        for status, response in (operation.responses or {}).items():
            assert isinstance(response, OpenAPIResponse)
            headers = dict(response.headers or {})
            headers["X-Request-ID"] = REQUEST_ID
            if guarded:
                headers.update(RATE_LIMIT_HEADERS)
            if guarded and status == "200" and path != EventController.path:
                # The event log is not read from the content database: no revision.
                headers[REVISION_HEADER] = _header(
                    "The content revision this response was read from.", OpenAPIType.INTEGER
                )
            if status == "401":
                headers["WWW-Authenticate"] = _header("How to authenticate: a Bearer token.")
            if status in ("429", "503"):
                headers["Retry-After"] = _header(
                    "Seconds to wait before trying again.", OpenAPIType.INTEGER
                )
            response.headers = headers
        if guarded and any(
            getattr(p, "name", None) == "channel" for p in operation.parameters or []
        ):
            _document_forbidden_channel(operation)


class NormalizedJson(JsonRenderPlugin):
    """/docs/openapi.json as committed: normalized (api/normalize.py), byte for byte."""

    @staticmethod
    def render_json(request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return document_bytes(openapi_schema)


class ContentApp(Litestar):
    """Litestar, with the layers' fast path (api/middleware/fast.py) in front of its own
    entry point, so that a request whose answer is prepared never reaches the framework,
    and the guard (api/middleware/guard.py) around both, so that nothing that raises
    outside the framework's reach leaves without a problem answer."""

    fast_path: FastPath | None = None
    guard: Guard | None = None

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        guard = self.guard
        # Compared as a plain str: servers send "http", and that is cheaper than the enum's.
        if guard is not None and cast(str, scope["type"]) == "http":
            await guard(cast(Any, scope), cast(Any, receive), cast(Any, send))
            return
        await super().__call__(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Litestar's own entry point, behind the guard."""
        await super().__call__(scope, receive, send)


def _document_forbidden_channel(operation: Operation) -> None:
    """403: with keys on, a channel that is served overdue items needs a key of its own
    (api/middleware/keys.py)."""
    responses = operation.responses or {}
    unauthorized = responses.get("401")
    if not isinstance(unauthorized, OpenAPIResponse):
        return
    forbidden = copy.deepcopy(unauthorized)
    forbidden.description = "Forbidden"
    (forbidden.headers or {}).pop("WWW-Authenticate", None)
    for media in (forbidden.content or {}).values():
        media.examples = {
            "problem-example-1": Example(
                summary="Forbidden",
                value={
                    "type": problem_type(403),
                    "title": "Forbidden",
                    "status": 403,
                    "detail": "channel=editor needs a key of the editor channel.",
                },
            )
        }
    operation.responses = dict(sorted({**responses, "403": forbidden}.items()))


def create_app(settings: Settings | None = None) -> ContentApp:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.settings = settings
        try:
            app.state.store = await Store.open(settings.db_path)
            app.state.store.review_policy = settings.review_policy
        except DatabaseUnavailable:
            app.state.store = None
        layers.fast.delivery.open()  # `layers` is made below, before the app starts
        try:
            app.state.events = await EventLog.open(settings.state_path)
        except (OSError, sqlite3.Error) as exc:
            # The content still serves; /v1/events answers 503 and says so in the log.
            logging.getLogger("api.events").warning("state store %s: %s", settings.state_path, exc)
            app.state.events = None
        dispatcher = None
        if settings.webhooks and app.state.events is not None:
            dispatcher = Dispatcher(
                settings.state_path,
                settings.webhooks,
                schedule=settings.webhook_retry_schedule,
                timeout=settings.webhook_timeout,
                poll=settings.webhook_poll,
            )
            dispatcher.start()
        transitions = None
        if app.state.events is not None:
            # Go-lives, expiries and reviews falling due are recorded at their instant,
            # whether or not a request comes, and sent at once.
            transitions = Transitions(
                settings.db_path,
                settings.state_path,
                settings.review_policy,
                wake=dispatcher.wake.set if dispatcher is not None else None,
            )
            transitions.start()
        app.state.transitions = transitions
        try:
            yield
        finally:
            if transitions is not None:
                await transitions.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            if app.state.events is not None:
                await app.state.events.close()
            layers.fast.delivery.close()
            store: Store | None = app.state.get("store")
            if store is not None:
                await store.close()

    openapi = OpenAPIConfig(
        title="Clinic Content API",
        version=VERSION,
        description=DESCRIPTION,
        contact=Contact(name="Clinic web team"),
        # Relative, so the committed document is the served one wherever the API runs.
        servers=[Server(url="/")],
        tags=[
            *(Tag(name=t.segment, description=t.description) for t in TYPES),
            Tag(
                name="feeds",
                description="Articles as Atom, RSS 2.0 and JSON Feed 1.1 for the newsletter.",
            ),
            Tag(
                name="search",
                description="Ranked full-text search that forgives typos and knows synonyms.",
            ),
            Tag(name="sync", description="Changes since a cursor, for offline copies."),
            Tag(
                name="events",
                description="Every change as an event (also sent as signed webhooks).",
            ),
            Tag(name="site", description="The clinic's settings and the website's sitemap."),
            Tag(
                name="preview",
                description="Signed links that open one unpublished item without a key.",
            ),
            Tag(name="operations", description="Liveness and readiness."),
        ],
        components=Components(
            security_schemes={
                "ApiKey": SecurityScheme(
                    type="apiKey",
                    name="X-API-Key",
                    security_scheme_in="header",
                    description="A channel key, when the deployment configures keys.",
                ),
                "Bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="The same channel key as a Bearer token.",
                ),
            }
        ),
        path="/docs",
        openapi_router=docs_router(),
        render_plugins=[
            NormalizedJson(),
            DocsPage(
                path="/",
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/{FAVICON}'>",
            ),
        ],
        create_examples=False,
        use_handler_docstrings=True,
    )
    app = ContentApp(
        route_handlers=[
            *content_controllers(),
            FaqTopicController,
            FeedController,
            SitemapController,
            SearchController,
            SyncController,
            EventController,
            create_preview_link,
            get_site,
            health,
            ready,
            metrics,
            docs_asset,
            kiosk_page,
            kiosk_file,
        ],
        dependencies={"store": Provide(provide_store)},
        before_request=reject_unknown_parameters,
        exception_handlers={HTTPException: handle_exception, Exception: handle_exception},
        openapi_config=openapi,
        lifespan=[lifespan],
        debug=False,
    )
    app.state.metrics = registry = Metrics()
    document_delivery(app.openapi_schema)
    _document_http_layers(app)
    _document_sparse_lists(app)
    _document_kiosk_rendition(app)
    _document_events(app)
    _document_locales(app, settings)
    _document_cursor_links(app)
    _document_item_links(app)
    document_preview(app.openapi_schema)
    app.state.query_names = documented_query_names(app.openapi_schema)
    app.state.parameter_rules = parameter_rules(app.openapi_schema)
    # The HTTP layers wrap Litestar's own handler, inside `Litestar.__call__`: they see every
    # request (unknown paths too) and `scope["path_template"]` once Litestar has routed it.
    layers = wrap(cast(ASGIApp, app.asgi_handler), settings, registry)
    app.asgi_handler = cast(Any, layers.stack)
    app.fast_path = layers.fast
    app.guard = Guard(cast(ASGIApp, app.framework), layers.fast.log, layers.fast)
    return app


def openapi_document(settings: Settings | None = None) -> bytes:
    """The OpenAPI document exactly as /docs/openapi.json serves it, formatted for git."""
    app = create_app(settings or Settings())
    return document_bytes(app.openapi_schema.to_schema())


app = create_app()
