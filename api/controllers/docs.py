"""The interactive documentation at /docs: the Swagger UI page, the OpenAPI document and
the page's assets, served by the API itself (no CDN), and nothing else under /docs.

Litestar's OpenAPI router would also answer any other /docs path with an HTML 404 page of
its own, and Swagger UI's plugin adds an OAuth2 redirect page this API has no use for (its
keys are not OAuth). Both are left out, so every other /docs path gets the API's
problem+json 404 like any unknown path.

The assets are a fixed set of files, read once at start-up and answered by name: a name
that is not one of them (a NUL, a slash, a dot segment, 300 characters) is a 404 problem,
never a file-system look-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from api.errors import NotFound
from api.normalize import document_bytes

STATIC = Path(__file__).resolve().parents[1] / "static" / "swagger-ui"
ASSETS_PATH = "/docs/assets"
FAVICON = "favicon-32x32.png"
#: Media types by suffix; anything else in the folder (its licence files) is plain text.
_MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}
#: The served files: their names, bytes and media types.
ASSETS: dict[str, tuple[bytes, str]] = {
    path.name: (path.read_bytes(), _MEDIA_TYPES.get(path.suffix, "text/plain; charset=utf-8"))
    for path in sorted(STATIC.iterdir())
    if path.is_file()
}
#: The path parameter Litestar's router answers other /docs paths with (its HTML 404).
_CATCH_ALL = "/{path:str}"


class DocsPage(SwaggerRenderPlugin):
    """Swagger UI, without the OAuth2 redirect page (nothing here signs in with OAuth),
    embedding the document as committed: normalized (api/normalize.py), byte for byte."""

    def receive_router(self, router: Router) -> None:
        return None

    @staticmethod
    def render_json(request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return document_bytes(openapi_schema)


class DocsRouter(Router):
    """The router of /docs, without Litestar's HTML 404 page for other /docs paths."""

    def register(self, value: ControllerRouterHandler) -> list[Any]:
        if isinstance(value, HTTPRouteHandler) and _CATCH_ALL in value.paths:
            return []
        return super().register(value)


def docs_router() -> DocsRouter:
    return DocsRouter("/docs", route_handlers=[], include_in_schema=False)


@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def docs_asset(name: FromPath[str]) -> Response[bytes]:
    """One of the documentation page's assets, by name."""
    found = ASSETS.get(name)
    if found is None:
        raise NotFound(detail="The documentation has no asset of that name.")
    body, media_type = found
    return Response(body, media_type=media_type)
