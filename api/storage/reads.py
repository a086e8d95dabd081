"""What an answer read from the content database, so that a build can tell which answers
it changed.

A build that edits one article leaves almost every other answer as it was, byte for byte;
preparing all of them again (api/http/ahead.py) costs seconds of work for nothing. So the
store (api/storage/reader.py) notes, while an answer is made, what it read, as tokens:

- `item_read(type, slug)`: one item, in any locale (a detail, a related item's summary);
- `type_read(type)`: a query over the items of a type (a list, a page of a topic, the
  items linking to another);
- `meta_read(key)`: one key of the build's meta (the site settings, the sync lineage);
- `EVERYTHING`: any other read (search, sync, the sitemap, a raw connection), which every
  build may change.

A build knows which items it changed (their revisions are newer) and which meta keys
(api/http/revision.py), as the same tokens (`changed_by`). An answer none of whose tokens is
among them is the same in the new build; only the `X-Content-Revision` header that names
the build changes, and the delivery layer writes that itself (api/http/prepared.py).

The store notes reads of any method that does not say otherwise as `EVERYTHING`, so a
query added later without tokens of its own makes its answers prepared again on every
build, never kept stale.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: What one answer read: a tuple, not a set, as it is kept with each prepared answer (a
#: tuple of strings costs less memory, and the collector stops walking it).
Reads = tuple[str, ...]
#: Any read the tokens below do not describe.
EVERYTHING = "*"

#: The reads of the answer being made, or None outside one. A set, shared with the tasks
#: the framework starts for it (they copy the context, not the set).
_reads: ContextVar[set[str] | None] = ContextVar("reads", default=None)


def item_read(type_: str, slug: str) -> str:
    return sys.intern(f"item {type_}/{slug}")


def type_read(type_: str) -> str:
    return sys.intern(f"type {type_}")


def meta_read(key: str) -> str:
    return sys.intern(f"meta {key}")


def note(*tokens: str) -> None:
    """Note reads of the answer being made (nothing outside one)."""
    reads = _reads.get()
    if reads is not None:
        reads.update(tokens)


def noting() -> bool:
    return _reads.get() is not None


@contextmanager
def recording() -> Iterator[set[str]]:
    """Note what is read inside, into the set given."""
    reads: set[str] = set()
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def changed_by(items: Iterable[tuple[str, str]], meta_keys: Iterable[str]) -> frozenset[str]:
    """The tokens a build changed: its changed items (and so their types' queries) and
    meta keys."""
    tokens: set[str] = set()
    for type_, slug in items:
        tokens.add(item_read(type_, slug))
        tokens.add(type_read(type_))
    tokens.update(meta_read(key) for key in meta_keys)
    return frozenset(tokens)


def unchanged(reads: Reads | None, changed: frozenset[str]) -> bool:
    """Whether an answer that read `reads` (None: not known) is the same after a build
    that changed `changed`."""
    return reads is not None and EVERYTHING not in reads and changed.isdisjoint(reads)
