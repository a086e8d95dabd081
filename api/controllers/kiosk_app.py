"""The kiosk app at /kiosk/: the files of the `kiosk` package, served by the API itself.

The files are a fixed set, read once at start-up and answered by name (like the /docs
assets): any other name is a 404 problem, never a file-system look-up. They are sent with
`no-store` like every answer the delivery layer does not prepare: the app's service worker
keeps its own copy (the Cache API), so the browser's HTTP cache has nothing to add, and a
new release is picked up on the next load. Their Content-Security-Policy is the kiosk's
(api/middleware/security.py): scripts, styles and the worker from this origin only, and
requests to this origin only.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect

from api.errors import NotFound

KIOSK_PATH = "/kiosk"
#: Media types by suffix; files of other kinds in the package (its Python, its type-check
#: configuration) are not served. The framework adds `charset=utf-8` to text types.
_MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


def _files() -> dict[str, tuple[bytes, str]]:
    found: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files("kiosk").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in _MEDIA_TYPES:
            found[entry.name] = (entry.read_bytes(), _MEDIA_TYPES[suffix])
    return found


#: The served files: their names, bytes and media types.
FILES = _files()
#: The service worker controls /kiosk/ and nothing else of the API.
_WORKER_HEADERS = {"Service-Worker-Allowed": f"{KIOSK_PATH}/"}


@get(KIOSK_PATH, include_in_schema=False, sync_to_thread=False)
def kiosk_page(request: Request[Any, Any, Any]) -> Response[bytes] | Redirect:
    """The app's page at /kiosk/ (the framework routes /kiosk here too: the page's relative
    links need the trailing slash, so that one is redirected)."""
    # The path as sent: the framework's own has its trailing slash removed.
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    if not raw.split(b"?", 1)[0].endswith(b"/"):
        return Redirect(f"{KIOSK_PATH}/", status_code=308)
    body, media_type = FILES["index.html"]
    return Response(body, media_type=media_type)


@get(f"{KIOSK_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def kiosk_file(name: FromPath[str]) -> Response[bytes]:
    """One of the kiosk app's files, by name."""
    found = FILES.get(name)
    if found is None:
        raise NotFound(detail="The kiosk app has no file of that name.")
    body, media_type = found
    headers = _WORKER_HEADERS if name == "sw.js" else {}
    return Response(body, media_type=media_type, headers=headers)
