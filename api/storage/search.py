"""Full-text search over the FTS5 index the build writes.

User text never reaches FTS5 as syntax: it is split into folded words here, each word is
corrected against the vocabulary the build stored (typos, half-typed words), expanded with
the clinic's synonyms, and only then written as quoted FTS5 strings. Ranking is, first, how
many of the query's words an item matches, then bm25 with the title weighted highest.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import msgspec
from rapidfuzz import process
from rapidfuzz.distance import OSA

from api.storage import inline
from api.storage.text import STOP_WORDS, words

#: bm25 weights of the columns: title, keywords (other names, tags), summary, body.
WEIGHTS = (10.0, 6.0, 3.0, 1.0)
#: Words of a query beyond this many are ignored (they would not change the ranking).
MAX_TERMS = 10
#: Spellings tried for one misspelt word.
MAX_CANDIDATES = 3
#: Tokens of context a snippet shows.
SNIPPET_TOKENS = 24
#: The index of items by revision with every column a search filters and orders on
#: (api/storage/schema.sql).
SERVED_INDEX = "items_by_revision_ranked"
MARK_START, MARK_END = "\x02", "\x03"

_encoder = msgspec.json.Encoder()


class BadQuery(ValueError):
    """The query cannot be searched (e.g. it has no words); the message says why."""


def max_edits(word: str) -> int:
    """Typos forgiven in a word: none in short words, where a change makes another word."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The indexed words of one build, with how many items use each."""

    docs: dict[str, int]
    synonyms: dict[str, tuple[str, ...]]
    longest_synonym: int
    _words: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, docs: dict[str, int], groups: Sequence[Sequence[str]]) -> Vocabulary:
        synonyms = {term: tuple(group) for group in groups for term in group}
        longest = max((len(t.split()) for t in synonyms), default=1)
        return cls(docs, synonyms, longest, sorted(docs))

    def without(self, unserved: Counter[str]) -> Vocabulary:
        """The vocabulary less the words only items not served use: a correction must not
        name a word of an item that is not live yet (nor of one expired or withdrawn)."""
        if not unserved:
            return self
        docs = {
            term: count - unserved.get(term, 0)
            for term, count in self.docs.items()
            if count == 0 or count > unserved.get(term, 0)  # a synonym's word has no items
        }
        return Vocabulary(docs, self.synonyms, self.longest_synonym, sorted(docs))

    def corrections(self, word: str, prefix: bool) -> list[str]:
        """Indexed words the user probably meant by `word`, best first; [] if none is close.

        With `prefix` (the word being typed), a word is also close when its beginning is.
        """
        limit = max_edits(word)
        if limit == 0:
            return []
        found: dict[str, int] = {}
        for candidate, distance, _ in process.extract(
            word, self._words, scorer=OSA.distance, score_cutoff=limit, limit=None
        ):
            found[candidate] = int(distance)
        if prefix:
            stems = [w[: len(word)] for w in self._words]
            for _, distance, index in process.extract(
                word, stems, scorer=OSA.distance, score_cutoff=limit, limit=None
            ):
                candidate = self._words[index]
                found[candidate] = min(found.get(candidate, limit), int(distance))
        if not found:
            return []
        best = min(found.values())
        ranked = sorted(
            (w for w, d in found.items() if d == best), key=lambda w: (-self.docs[w], w)
        )
        return ranked[:MAX_CANDIDATES]


@dataclass(frozen=True, slots=True)
class Term:
    """One thing the user asked for, and the phrases that find it in the index."""

    typed: str
    phrases: tuple[str, ...]
    prefix: str | None = None

    def fts(self) -> str:
        # Every phrase is folded words joined by spaces, so quoting cannot be escaped.
        parts = [f'"{p}"' for p in self.phrases]
        if self.prefix:
            parts.append(f'"{self.prefix}"*')
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def analyse(query: str, vocabulary: Vocabulary) -> list[Term]:
    """The terms of a user's query: corrected, completed and expanded with synonyms."""
    tokens = words(query)
    if not tokens:
        raise BadQuery("needs at least one word (letters or digits)")
    typing = not query[-1:].isspace()
    meant: list[tuple[str, list[str], bool]] = []
    for i, token in enumerate(tokens):
        last = typing and i == len(tokens) - 1
        if token in vocabulary.docs or token in vocabulary.synonyms:
            meant.append((token, [token], last))
        else:
            meant.append((token, vocabulary.corrections(token, last), last))

    everything_stop = all(token in STOP_WORDS for token in tokens)
    terms: list[Term] = []
    i = 0
    while i < len(meant) and len(terms) < MAX_TERMS:
        for size in range(min(vocabulary.longest_synonym, len(meant) - i), 0, -1):
            span = meant[i : i + size]
            phrase = " ".join(options[0] if options else token for token, options, _ in span)
            group = vocabulary.synonyms.get(phrase)
            if group is not None:
                typed = " ".join(token for token, _, _ in span)
                last = span[-1][2] and size == 1 and len(span[-1][0]) > 1
                terms.append(Term(typed, group, span[-1][0] if last else None))
                i += size
                break
        else:
            token, options, last = meant[i]
            i += 1
            if token in STOP_WORDS and not everything_stop:
                continue
            prefix = token if last and len(token) > 1 else None
            phrases = tuple(o for o in options if o != prefix)
            if not phrases and prefix is None:
                phrases = (token,)  # nothing like it is indexed: it matches nothing, honestly
            terms.append(Term(token, phrases, prefix))
    return _unique(terms)


def _unique(terms: list[Term]) -> list[Term]:
    seen: set[str] = set()
    out = []
    for term in terms:
        key = term.fts()
        if key not in seen:
            seen.add(key)
            out.append(term)
    return out


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: Sequence[Term]
    locale: str
    fallback_locale: str
    limit: int
    offset: int = 0
    types: Sequence[str] = ()
    topic: str | None = None
    links: Sequence[tuple[str, str]] = ()
    #: More SQL conditions on items (alias-free columns) and their parameters: what the
    #: channel may be served (the reader adds them).
    conditions: Sequence[str] = ()
    condition_params: Sequence[Any] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    type: str
    slug: str
    locale: str
    summary_json: bytes
    score: float
    snippet: str
    next_review_due: str | None = None


@dataclass(frozen=True, slots=True)
class Hits:
    hits: list[Hit]
    total: int


#: The items a public channel is not served whatever the instant (withdrawn), or not at
#: the instant given twice (before their go-live, from their expiry). Not drafts: their
#: words are not in the vocabulary the build counts (storage/writer.py), though indexed.
_UNSERVED = (
    "SELECT s.title, s.keywords, s.summary, s.body FROM search s"
    " JOIN items i ON i.revision = s.rowid WHERE i.deleted = 0 AND i.draft = 0"
    " AND (i.withdrawn IS NOT NULL"
    " OR (i.live_from IS NOT NULL AND i.live_from > ?)"
    " OR (i.live_until IS NOT NULL AND i.live_until <= ?))"
)


async def unserved_words(db: aiosqlite.Connection, at: float) -> Counter[str]:
    """How many indexed items not served at `at` (scheduled, expired, withdrawn) use each
    word, counted as the build counts the vocabulary (storage/writer.py)."""
    counted: Counter[str] = Counter()
    async with db.execute(_UNSERVED, (at, at)) as cur:
        async for row in cur:
            counted.update(set(words(" ".join(str(column or "") for column in row))))
    return counted


async def load_vocabulary(db: aiosqlite.Connection, synonyms_json: str) -> Vocabulary:
    rows = await db.execute_fetchall("SELECT term, docs FROM search_terms")
    docs = {term: int(n) for term, n in rows}
    groups = msgspec.json.decode(synonyms_json or "[]", type=list[list[str]])
    return Vocabulary.of(docs, groups)


async def search(db: aiosqlite.Connection, q: SearchQuery) -> Hits:
    match = " OR ".join(term.fts() for term in q.terms)
    where = [
        "search MATCH ?",
        # The asked locale, or the fallback's item where the asked one has no translation.
        "(i.locale = ? OR (i.locale = ? AND NOT EXISTS (SELECT 1 FROM items t"
        " WHERE t.type = i.type AND t.slug = i.slug AND t.locale = ? AND t.deleted = 0"
        " AND t.withdrawn IS NULL)))",
    ]
    params: list[Any] = [match, q.locale, q.fallback_locale, q.locale]
    if q.types:
        where.append(f"i.type IN ({','.join('?' * len(q.types))})")
        params += list(q.types)
    if q.topic is not None:
        where.append("i.topic = ?")
        params.append(q.topic)
    for rel, target in q.links:
        where.append(
            "EXISTS (SELECT 1 FROM links l WHERE l.type = i.type AND l.slug = i.slug"
            " AND l.locale = i.locale AND l.rel = ? AND l.target = ?)"
        )
        params += [rel, target]
    where += q.conditions
    params += q.condition_params
    sql_where = " AND ".join(where)
    joined = "FROM search JOIN items i ON i.revision = search.rowid"
    # The count and the choice of the page read items through the index that holds every
    # column they filter and order on: the planner would take the narrower unique one and
    # then read each matching item from the table.
    served = f"FROM search JOIN items i INDEXED BY {SERVED_INDEX} ON i.revision = search.rowid"

    # Score: each query term the item matches counts 1, so an item that has every word
    # comes before one that has some. Between those, fractions below 1 in all: terms found
    # in the title (0.4 times the share of the query), how much of the title the query covers
    # (0.3: "swelling" prefers "Swelling" to "Joint stiffness and swelling"), and bm25
    # (0.29; FTS5's bm25 is negative, lower is better). Each list of the items a term
    # matches is one more pass over the index: a hit of a one-word query matches its word,
    # and the title's terms are counted once for both of their shares.
    # The same sum for both, one list per term; the parameters say which terms it counts.
    n = len(q.terms)
    titled = " + ".join(
        "(search.rowid IN (SELECT rowid FROM search WHERE search MATCH ?))" for _ in q.terms
    )
    matched = "1" if n == 1 else titled
    weights = ", ".join(str(w) for w in WEIGHTS)
    snippet = f"'{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS}"

    # The page is chosen first on the score and the sort keys alone: the stored summaries
    # and the snippets (which read each item's text again) are then made for its rows only,
    # not for every item that matches (most of the index, for a common word).
    def ranked(source: str, title_words: str, title_length: str) -> str:
        score = (
            f"(({matched}) + ({titled}) * (0.4 / {n}.0 + 0.3 / max({title_words}, {n}.0))"
            f" + 0.29 * (-bm25(search, {weights})) / (1.0 - bm25(search, {weights})))"
        )
        return (
            f"SELECT search.rowid, {score} AS score {source} WHERE {sql_where}"
            # Equal scores: the page about a thing before the FAQs and articles that mention
            # it.
            " ORDER BY round(score, 3) DESC, CASE i.type WHEN 'condition' THEN 0"
            " WHEN 'treatment' THEN 1 WHEN 'symptom' THEN 2 WHEN 'faq' THEN 3 ELSE 4 END,"
            f" {title_length}, i.slug LIMIT ? OFFSET ?"
        )

    term_params = [term.fts() for term in q.terms]
    title_params = [f"title : {term.fts()}" for term in q.terms]
    page_params = [*(term_params if n > 1 else ()), *title_params, *params, q.limit, q.offset]

    # A database built before the index existed, or before items kept what search ranks on
    # (the search table did), is read the way it can be, until its next build.
    attempts = (
        (served, "i.title_words", "i.title_length"),
        (joined, "i.title_words", "i.title_length"),
        (joined, "search.title_words", "length(search.title)"),
    )
    for attempt, (source, title_words, title_length) in enumerate(attempts, 1):
        try:
            # Both statements queued at once on the connection: one wait for its thread.
            counted, page = await inline.together(
                db.execute_fetchall(f"SELECT count(*) {source} WHERE {sql_where}", params),
                db.execute_fetchall(ranked(source, title_words, title_length), page_params),
            )
            break
        except sqlite3.OperationalError as exc:
            if attempt == len(attempts) or not str(exc).startswith(
                ("no such index", "no such column")
            ):
                raise
    total = int(counted[0][0]) if counted else 0
    if not page:
        return Hits([], total)
    rowids = [rowid for rowid, _ in page]
    rows = await db.execute_fetchall(
        f"SELECT search.rowid, i.type, i.slug, i.locale, i.summary_json, i.next_review_due,"
        f" snippet(search, 2, {snippet}), snippet(search, 3, {snippet})"
        f" {joined} WHERE search MATCH ? AND search.rowid IN ({','.join('?' * len(rowids))})",
        [match, *rowids],
    )
    found = {row[0]: row[1:] for row in rows}
    hits = []
    for rowid, sc in page:
        t, s, loc, doc, due, summary, body = found[rowid]
        hits.append(
            Hit(t, s, loc, bytes(doc), round(float(sc), 4), _best_snippet(summary, body), due)
        )
    return Hits(hits, total)


def _best_snippet(summary: str, body: str) -> str:
    """The snippet with the most highlighted words; the summary when they tie."""
    if body.count(MARK_START) > summary.count(MARK_START):
        return body
    return summary
