"""Which language to answer in: `locale=` wins, then Accept-Language, then the
site's default. Items missing in that language fall back to the default language one by
one; each item's `locale` field and the Content-Language header say what was served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request

from api.errors import bad_param
from api.http.negotiation import header_locale
from api.reading import view_of
from api.storage.reader import Store


@dataclass(frozen=True, slots=True)
class Negotiated:
    locale: str
    default: str
    locales: tuple[str, ...]
    #: True when the answer depends on Accept-Language (no `locale=`): caches must Vary.
    from_header: bool

    @property
    def fallback(self) -> str | None:
        return self.default if self.locale != self.default else None

    def headers(self, served: list[str] | None = None) -> dict[str, str]:
        """Content-Language of what was served (the asked locale first), and Vary."""
        present = served if served is not None else [self.locale]
        ordered = sorted(set(present) or {self.locale}, key=lambda loc: (loc != self.locale, loc))
        headers = {"Content-Language": ", ".join(ordered)}
        if self.from_header:
            headers["Vary"] = "Accept-Language"
        return headers


def site_locales(store: Store) -> tuple[str, tuple[str, ...]]:
    raw = store.meta.get("site")
    if raw is None:
        default = store.meta.get("default_locale", "en")
        return default, (default,)
    site = msgspec.json.decode(raw)
    return str(site["default_locale"]), tuple(site["locales"])


def negotiate(store: Store, request: Request[Any, Any, Any], locale: str | None) -> Negotiated:
    default, locales = site_locales(store)
    if locale is not None:
        if locale not in locales:
            raise bad_param("locale", f"'{locale}' is not one of this site's: {', '.join(locales)}")
        return Negotiated(locale, default, locales, from_header=False)
    chosen = header_locale(view_of(request.scope).accept_language, locales)
    return Negotiated(chosen or default, default, locales, from_header=True)
