"""The OpenAPI document: how the service describes itself, and the passes that complete
what Litestar generates from the handlers.

Litestar writes each operation from its handler: path, parameters, the responses the
handler declares, and a component per struct. What happens outside the handlers is not
in it: the HTTP layers in front of the framework (keys, rate limits, validators, 304 and
412, request ids), the renditions a parameter chooses (sparse `fields`, the kiosk's plain
text), the site's locales, and the links between operations. `complete` adds them, once,
when the app is made; the document then is what /docs/openapi.json serves and what the
parameter guards (api/controllers/guards.py) judge requests by.
"""

from __future__ import annotations

import copy
from typing import Any, get_args

from litestar import Request
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

from api import preview
from api.build.load import load_site
from api.controllers.docs import ASSETS_PATH, FAVICON, DocsPage, docs_router
from api.controllers.events import EventController
from api.controllers.kiosk import KIOSK_DROPS
from api.errors import problem_type
from api.http import document_delivery
from api.http.negotiation import REVISION_HEADER
from api.normalize import document_bytes
from api.registry import TYPES
from api.settings import Settings
from schemas.resources import PreviewLinkRequest, Rendition

__all__ = ["VERSION", "complete", "openapi_config"]

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


class NormalizedJson(JsonRenderPlugin):
    """/docs/openapi.json as committed: normalized (api/normalize.py), byte for byte."""

    @staticmethod
    def render_json(request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return document_bytes(openapi_schema)


def openapi_config() -> OpenAPIConfig:
    """The service's description, tags and security schemes, and where the document and
    the interactive docs are served."""
    return OpenAPIConfig(
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


def complete(schema: OpenAPI, settings: Settings) -> None:
    """Complete the document Litestar generated, in place, with what it cannot see.

    The order matters where a pass builds on what another wrote:

    - the delivery layer's 304 and 412 come before the HTTP layers' pass, which gives
      every answer an operation has, those two included, its `X-Request-ID` and
      rate-limit headers (and copies the 401 into the 403 of a channel without its key);
    - sparse lists come before the kiosk rendition: the sparse pass makes a list's items
      "the summary or its `...Fields`", and the kiosk pass adds its plain-text variant to
      that choice, which it looks for and finds only once the sparse pass has made it;
    - the cursor links come before the item links: the cursor pass sets a paged answer's
      links (`next`), the item pass adds `item` (and `topic`) to them;
    - the preview pass comes after the HTTP layers' pass: it copies the 401 that pass
      completed into the 403 of the operations that take `at`.

    The events and locales passes read and write what no other pass does. The guards that
    refuse unknown and malformed parameters are read from the document after all of them,
    by the factory, so that a request is judged by the document as served. An order that
    changes the document fails the drift check (`python -m api openapi --check`).
    """
    document_delivery(schema)
    _document_http_layers(schema)
    _document_sparse_lists(schema)
    _document_kiosk_rendition(schema)
    _document_events(schema)
    _document_locales(schema, settings)
    _document_cursor_links(schema)
    _document_item_links(schema)
    _document_preview(schema)


def _header(description: str, kind: OpenAPIType = OpenAPIType.STRING) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=kind), description=description, required=False)


REQUEST_ID = _header("The request's id: the client's X-Request-ID if sane, else a new one.")
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": _header("Requests allowed per window.", OpenAPIType.INTEGER),
    "RateLimit-Remaining": _header("Requests left in this window.", OpenAPIType.INTEGER),
    "RateLimit-Reset": _header("Seconds until the window resets.", OpenAPIType.INTEGER),
    "RateLimit-Policy": _header("The limit as `requests;w=seconds`."),
}


def _document_http_layers(schema: OpenAPI) -> None:
    """Add what the HTTP layers outside Litestar (api.middleware) do to the document:
    keys as optional security, and the headers they set on each response."""
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


def _document_forbidden_channel(operation: Operation) -> None:
    """403: with keys on, a channel that is served overdue items needs a key of its own
    (api/middleware/keys.py)."""
    _add_forbidden(operation, "channel=editor needs a key of the editor channel.")


def _add_forbidden(operation: Operation, detail: str) -> None:
    """A 403 beside the operation's 401: the same problem body without the challenge
    (a key was sent, and it is the wrong kind), with `detail` as its example."""
    responses = dict(operation.responses or {})
    unauthorized = responses.get("401")
    if "403" in responses or not isinstance(unauthorized, OpenAPIResponse):
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
                    "detail": detail,
                },
            )
        }
    operation.responses = dict(sorted({**responses, "403": forbidden}.items()))


SPARSE_FIELDS = ("type", "slug", "locale")


def _document_sparse_lists(schema: OpenAPI) -> None:
    """With `fields`, list items carry only the fields asked for (and type, slug, locale):
    each `...List` says its items are the full summary or such a sparse one."""
    schemas = schema.components.schemas or {}
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


def _document_kiosk_rendition(schema: OpenAPI) -> None:
    """With `channel=kiosk` an item comes without its HTML (api.controllers.kiosk): each
    item operation says its answer is the full item or such a plain-text rendition, told
    apart by `rendition` (a discriminator), and lists of such items say the same of theirs."""
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


def _ref(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def _document_events(schema: OpenAPI) -> None:
    """An event's `type` tells its kind (and the shape of its `data`): a discriminator, so
    typed clients narrow on it as on `rendition`."""
    schemas = schema.components.schemas or {}
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


def _document_locales(schema: OpenAPI, settings: Settings) -> None:
    """`locale` takes the site's locales only (api/controllers/locales.py): list them, from
    the site settings in the content folder the document is built with."""
    site = load_site(settings.content_dir)
    if site is None:
        return
    locales = sorted(site.locales, key=lambda loc: (loc != site.default_locale, loc))
    named = ", ".join(f"`{loc}`" for loc in locales)
    # One named schema, so a generated client has one `Locale` type rather than one per
    # operation.
    components = schema.components
    components.schemas = dict(components.schemas or {})
    components.schemas["Locale"] = Schema(
        type=OpenAPIType.STRING,
        enum=list(locales),
        title="Locale",
        description=f"One of the site's locales: {named}; the default first.",
    )
    for path, item in (schema.paths or {}).items():
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


def _document_cursor_links(schema: OpenAPI) -> None:
    """A cursor is valid only if this API issued it, which no schema can say: each paged
    operation links its 200 answer's `meta.next_cursor` to its own `cursor`, with the rest
    of the query as it was, so clients and stateful testers follow real cursors."""
    for item in (schema.paths or {}).values():
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


def _document_item_links(schema: OpenAPI) -> None:
    """Each list's 200 links its first item's slug to the operation that gets that item."""
    for item in (schema.paths or {}).values():
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


def _document_preview(schema: OpenAPI) -> None:
    """What the preview gate does, in the document: making a link needs a key (always),
    and every operation that takes `at` may answer 403 (no preview or editor key, or a
    key of another channel) besides the 401 of a missing or wrong key."""
    # The body is read strictly (a misspelt field is refused, not ignored): say so.
    request_schema = (schema.components.schemas or {}).get(PreviewLinkRequest.__name__)
    if request_schema is not None:
        request_schema.additional_properties = False
    for item in (schema.paths or {}).values():
        if item.post is not None and item.post.operation_id == "createPreviewLink":
            item.post.security = [{"ApiKey": []}, {"Bearer": []}]
        operation = item.get
        if operation is not None and any(
            getattr(p, "name", None) == preview.AT_PARAM for p in operation.parameters or []
        ):
            _add_forbidden(
                operation,
                "at= needs a preview or an editor key, not a key of the website channel.",
            )
