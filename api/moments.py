"""Instants as requests give them: RFC 3339 date-times, read the same way by the
parameters of every layer (lists, feeds, the preview layer's `at`)."""

from __future__ import annotations

import datetime as dt
import re

from api.errors import bad_param

#: RFC 3339 date-time, as JSON Schema's `format: date-time` means it (seconds may be 60),
#: matched whole (`fullmatch`: no `$` that lets a final line break through) and in ASCII
#: digits only (`re.ASCII`: Python's `\d` alone also takes other scripts' digits).
RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)


def parse_moment(name: str, value: str | None) -> str | None:
    """An RFC 3339 date-time as the UTC text storage compares with (`...THH:MM:SSZ`).

    Only RFC 3339 is accepted (not a bare date or a number). Moments before year 1 or after
    9999 in UTC are clamped, so no valid value can overflow.
    """
    if value is None:
        return None
    match = RFC3339.fullmatch(value)
    if match is None:
        raise bad_param(name, "expected an RFC 3339 date-time such as 2026-01-31T09:00:00Z")
    if match.group(7) and (int(match.group(8)) > 23 or int(match.group(9)) > 59):
        raise bad_param(name, "a time offset is at most 23:59 either way (RFC 3339)")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        moment = dt.datetime(max(year, 1), month, day, hour, minute, min(second, 59))
    except ValueError as exc:
        raise bad_param(name, f"not a real date-time: {exc}") from None
    if match.group(7):
        sign = 1 if match.group(7) == "+" else -1
        offset = dt.timedelta(hours=int(match.group(8)), minutes=int(match.group(9)))
        try:
            moment -= sign * offset
        except OverflowError:
            moment = dt.datetime.min if sign > 0 else dt.datetime.max
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"
