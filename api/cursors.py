"""The one codec of every opaque cursor this API issues (lists, search, sync, events):
a JSON array, base64url without padding.

What a cursor holds, and what a forged one may not hold, is the caller's: it passes a
decoder for its own tuple, with the bounds SQLite can bind.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


class BadCursor(ValueError):
    """Not a cursor this API issued (or one altered); the caller says so in its words."""


def encode(*parts: Any) -> str:
    return base64.urlsafe_b64encode(_encoder.encode(parts)).rstrip(b"=").decode("ascii")


def decode(cursor: str, decoder: msgspec.json.Decoder[T]) -> T:
    """The parts of `cursor` as `decoder` reads them; `BadCursor` when it cannot."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return decoder.decode(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursor(cursor) from None
