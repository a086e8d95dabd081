"""Request headers that pick or validate a representation: Accept-Encoding,
Accept-Language and validators.

The handlers (api/controllers/locales.py) and the prepared answers (api/http/prepared.py)
negotiate the language with the same function here, so a prepared answer is keyed on the
locale the handler would answer in."""

from __future__ import annotations

import datetime as dt
import re

#: Codings we prepare, best first when a client likes several equally.
CODINGS = ("br", "gzip")
IDENTITY = "identity"
#: The header that names the content revision a response was read from (one snapshot).
REVISION_HEADER = "X-Content-Revision"

_TAG = re.compile(rb'\s*(?:W/)?"([^"]*)"\s*(?:,|$)')
#: An entity tag with its weakness: If-Match compares strongly, so a weak tag never matches.
_TAG_STRENGTH = re.compile(rb'\s*(W/)?"([^"]*)"\s*(?:,|$)')
_CODING = re.compile(
    r"^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:;\s*q\s*=\s*([0-9.]+)\s*)?$", re.IGNORECASE
)
#: Identity is acceptable unless refused, but a client that names codings would rather have
#: any of them than none, so unnamed identity comes last.
_IMPLICIT_IDENTITY = 0.001
_choices: dict[bytes | None, tuple[str, ...]] = {}
_MAX_REMEMBERED = 512
#: Longer Accept-Language headers are read only this far; real ones are a few dozen bytes.
MAX_HEADER = 500
MAX_RANGES = 20


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


def accepted(header: str) -> list[str]:
    """Language ranges of an Accept-Language header, most preferred first (RFC 9110 12.5.4).

    Malformed parts are skipped rather than refused: browsers send what they send.
    """
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag:
            continue
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                continue
            if not 0.0 <= quality <= 1.0:
                continue
        if quality > 0:
            ranges.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranges)]


def match(ranges: list[str], locales: tuple[str, ...]) -> str | None:
    by_lower = {loc.lower(): loc for loc in locales}
    for tag in ranges:
        lower = tag.lower()
        if lower == "*":
            return None
        if lower in by_lower:
            return by_lower[lower]
        primary = lower.split("-")[0]
        if primary in by_lower:
            return by_lower[primary]
    return None


def header_locale(accept_language: bytes | None, locales: tuple[str, ...]) -> str | None:
    """The locale an Accept-Language header (all of its lines, combined) picks, if any. The
    one negotiation: the handlers answer in it and prepared answers are keyed on it."""
    if not accept_language:
        return None
    return match(accepted(accept_language.decode("latin-1")), locales)


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """Weak comparison of If-None-Match against one strong tag (RFC 9110, 13.1.2).

    `etag` is the tag without quotes. `*` matches any current representation.
    """
    if if_none_match.strip() == b"*":
        return True
    return any(tag == etag for tag in _TAG.findall(if_none_match))


_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = rb"([0-9]{2}):([0-9]{2}):([0-9]{2})"
_MONTHS = {m: i for i, m in enumerate(_MONTH[1:-1].split(b"|"), 1)}
#: The three forms of an HTTP-date (RFC 9110, 5.6.7), and nothing else: IMF-fixdate,
#: then the obsolete RFC 850 and asctime forms recipients must still accept. Bytes
#: patterns, so a digit is an ASCII digit.
_IMF_FIXDATE = re.compile(_DAY + rb", ([0-9]{2}) " + _MONTH + rb" ([0-9]{4}) " + _TIME + rb" GMT")
_RFC850_DATE = re.compile(
    rb"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{2})-"
    + _MONTH + rb"-([0-9]{2}) " + _TIME + rb" GMT"
)  # fmt: skip
_ASCTIME_DATE = re.compile(_DAY + rb" " + _MONTH + rb" ([0-9 ][0-9]) " + _TIME + rb" ([0-9]{4})")


def http_date_seconds(value: bytes) -> int | None:
    """An HTTP-date as POSIX seconds, or None if it is not one: then the header it came in
    is ignored (RFC 9110, 13.1.3 and 13.1.4), whatever its bytes."""
    value = value.strip(b" \t")
    try:
        if match := _IMF_FIXDATE.fullmatch(value):
            day, month, year, hour, minute, second = match.groups()
        elif match := _ASCTIME_DATE.fullmatch(value):
            month, day, hour, minute, second, year = match.groups()
        elif match := _RFC850_DATE.fullmatch(value):
            day, month, short_year, hour, minute, second = match.groups()
            # A two-digit year more than 50 years ahead is the last such year past.
            now = dt.datetime.now(dt.UTC).year
            full = now - now % 100 + int(short_year)
            year = str(full - 100 if full > now + 50 else full).encode()
        else:
            return None
        moment = dt.datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute),
            min(int(second), 59), tzinfo=dt.UTC,  # a leap second counts as the one before
        )  # fmt: skip
    except ValueError:  # no such day or time, e.g. 31 Feb or 25:00
        return None
    return int(moment.timestamp())


def if_match_holds(if_match: bytes, etag: bytes) -> bool:
    """Strong comparison of If-Match against the current representation's tag (RFC 9110,
    13.1.1): `*` holds, since there is one; a weak tag never matches."""
    if if_match.strip() == b"*":
        return True
    return any(not weak and tag == etag for weak, tag in _TAG_STRENGTH.findall(if_match))


def precondition_status(
    etag: bytes,
    last_modified: int,
    *,
    if_match: bytes | None,
    if_unmodified_since: bytes | None,
    if_none_match: bytes | None,
    if_modified_since: bytes | None,
) -> int:
    """The answer to a GET or HEAD of a representation with this strong tag (unquoted) and
    modification time: 412 when If-Match or If-Unmodified-Since is false, 304 when
    If-None-Match or If-Modified-Since says the client's copy is current, else 200. The
    conditions are judged in the order RFC 9110, 13.2.2 gives; each replaces the next."""
    if if_match is not None:
        if not if_match_holds(if_match, etag):
            return 412
    elif if_unmodified_since is not None:
        since = http_date_seconds(if_unmodified_since)
        if since is not None and last_modified > since:
            return 412
    if if_none_match is not None:
        return 304 if etag_matches(if_none_match, etag) else 200
    if if_modified_since is not None:
        since = http_date_seconds(if_modified_since)
        if since is not None and last_modified <= since:
            return 304
    return 200


def allow_with_head(allow: bytes) -> bytes:
    """An Allow value that lists HEAD wherever it lists GET (HEAD is answered wherever GET
    is), each method once."""
    methods = [m.strip() for m in allow.split(b",") if m.strip()]
    if b"GET" in methods:
        methods.append(b"HEAD")
    return b", ".join(dict.fromkeys(methods))
