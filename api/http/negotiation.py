"""Request headers that pick or validate a representation: Accept-Encoding and validators."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

#: Codings we prepare, best first when a client likes several equally.
CODINGS = ("br", "gzip")
IDENTITY = "identity"

_TAG = re.compile(rb'\s*(?:W/)?"([^"]*)"\s*(?:,|$)')
_CODING = re.compile(
    r"^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:;\s*q\s*=\s*([0-9.]+)\s*)?$", re.IGNORECASE
)
#: Identity is acceptable unless refused, but a client that names codings would rather have
#: any of them than none, so unnamed identity comes last.
_IMPLICIT_IDENTITY = 0.001
_choices: dict[bytes | None, tuple[str, ...]] = {}
_MAX_REMEMBERED = 512


def preferred_codings(accept_encoding: bytes | None) -> tuple[str, ...]:
    """The codings a client accepts, best first, always ending in identity if acceptable.

    Clients send a handful of distinct headers, so the answer is remembered per header.
    """
    found = _choices.get(accept_encoding)
    if found is None:
        found = _parse_accept_encoding(accept_encoding)
        if len(_choices) >= _MAX_REMEMBERED:
            _choices.clear()
        _choices[accept_encoding] = found
    return found


def _parse_accept_encoding(header: bytes | None) -> tuple[str, ...]:
    if header is None:
        # No header: any coding is acceptable, but a client that says nothing gets the
        # plain bytes, as most servers do (RFC 9110, 12.5.3).
        return (IDENTITY,)
    weights: dict[str, float] = {}
    for part in header.decode("latin-1").split(","):
        if not part.strip():
            continue
        match = _CODING.match(part)
        if match is None:
            continue
        name = match.group(1).lower()
        try:
            q = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if name == "x-gzip":
            name = "gzip"
        weights[name] = max(weights.get(name, 0.0), min(q, 1.0))
    star = weights.get("*")
    ranked = []
    for rank, name in enumerate((*CODINGS, IDENTITY)):
        implicit = _IMPLICIT_IDENTITY if name == IDENTITY else 0.0
        q = weights.get(name, star if star is not None else implicit)
        if q > 0:
            ranked.append((-q, rank, name))
    ranked.sort()
    codings = tuple(name for _, _, name in ranked)
    # When even identity was refused, RFC 9110 lets us send it anyway rather than fail.
    return codings if IDENTITY in codings else (*codings, IDENTITY)


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """Weak comparison of If-None-Match against one strong tag (RFC 9110, 13.1.2).

    `etag` is the tag without quotes. `*` matches any current representation.
    """
    if if_none_match.strip() == b"*":
        return True
    return any(tag == etag for tag in _TAG.findall(if_none_match))


def http_date_seconds(value: bytes) -> int | None:
    """An HTTP-date as POSIX seconds, or None if it is not one (then it is ignored)."""
    try:
        moment = parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp())
