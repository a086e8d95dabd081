"""The ASGI application: `uvicorn api.app:app`, or `create_app(settings)` for tests."""

from __future__ import annotations

import gc
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.types import LifeSpanReceive, LifeSpanScope, LifeSpanSend, Receive, Scope, Send

from api import document
from api.controllers.docs import docs_asset
from api.controllers.events import EventController, EventLog
from api.controllers.faq_topics import FaqTopicController
from api.controllers.feeds import FeedController
from api.controllers.guards import documented_query_names, reject_unknown_parameters
from api.controllers.kiosk_app import kiosk_file, kiosk_page
from api.controllers.operations import health, metrics, ready
from api.controllers.parameters import parameter_rules
from api.controllers.pipeline import name_revision
from api.controllers.preview_links import create_preview_link
from api.controllers.search import SearchController
from api.controllers.site import get_site
from api.controllers.sitemap import SitemapController
from api.controllers.store import provide_store
from api.controllers.sync import SyncController
from api.errors import handle_exception
from api.events.dispatch import Dispatcher
from api.events.transitions import Transitions
from api.metrics import Metrics
from api.middleware import wrap
from api.middleware.fast import FastPath
from api.middleware.guard import Guard
from api.middleware.types import ASGIApp
from api.normalize import document_bytes
from api.registry import content_controllers
from api.settings import Settings
from api.storage.reader import DatabaseUnavailable, Store, read_from

__all__ = ["app", "create_app", "openapi_document"]


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
        # Typed by ignores, not `cast` calls: this runs once per request, and each call costs.
        if guard is not None and scope["type"] == "http":  # type: ignore[comparison-overlap]
            await guard(scope, receive, send)  # type: ignore[arg-type]
            return
        await super().__call__(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Litestar's own entry point, behind the guard."""
        await super().__call__(scope, receive, send)


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
        # What start-up made (the framework, its routes and types, the settings) lives as
        # long as the server: left out of the collector's full passes from here on, which
        # otherwise walk it all, 50 ms at a time with the loop stopped, whenever new answers
        # are prepared in numbers (after a build). A pass over the rest takes a few.
        gc.freeze()
        try:
            yield
        finally:
            if transitions is not None:
                await transitions.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            if app.state.events is not None:
                await app.state.events.close()
            await layers.fast.delivery.close()
            store: Store | None = app.state.get("store")
            if store is not None:
                await store.close()

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
        before_request=_before_request,
        after_request=name_revision,
        exception_handlers={HTTPException: handle_exception, Exception: handle_exception},
        openapi_config=document.openapi_config(),
        lifespan=[lifespan],
        debug=False,
    )
    app.state.metrics = registry = Metrics()
    document.complete(app.openapi_schema, settings)
    # The parameter guards are read from the finished document: what it says is what passes.
    app.state.query_names = documented_query_names(app.openapi_schema)
    app.state.parameter_rules = parameter_rules(app.openapi_schema)
    # The HTTP layers wrap Litestar's own handler, inside `Litestar.__call__`: they see every
    # request (unknown paths too) and `scope["path_template"]` once Litestar has routed it.
    layers = wrap(cast(ASGIApp, app.asgi_handler), settings, registry)
    app.asgi_handler = cast(Any, layers.stack)
    app.fast_path = layers.fast
    app.guard = Guard(cast(ASGIApp, app.framework), layers.fast.log, layers.fast)
    return app


async def _before_request(request: Request[Any, Any, Any]) -> None:
    read_from()  # for the revision header `name_revision` sets
    await reject_unknown_parameters(request)


def openapi_document(settings: Settings | None = None) -> bytes:
    """The OpenAPI document exactly as /docs/openapi.json serves it, formatted for git."""
    app = create_app(settings or Settings())
    return document_bytes(app.openapi_schema.to_schema())


app = create_app()
