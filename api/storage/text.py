"""Words as search sees them, the same at build time and at query time.

SQLite's `unicode61 remove_diacritics 2` tokenizer folds case and accents when it indexes;
the vocabulary, the synonyms and the user's query are folded here the same way, so that
"inyeccion" meets "inyección" and a corrected word is one the index really holds.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

#: Words too common to rank by, in the site's languages. Dropped from a query unless the
#: query has nothing else ("what is it?" still searches).
_STOP_WORDS = """
a about after an and any are as at be before been but by can could did do does doing for
from had has have how i if in into is it its me my of on or our so than that the their them
then there these they this to too us was we were what when where which while who why will
with would you your
al como con cual cuando de del donde el ella en es esta este esto la las le lo los me mi
mis o para pero por que se si sin son su sus te tu un una uno y ya
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def fold(text: str) -> str:
    """Lower case without accents: "Inyección" -> "inyeccion"."""
    if text.isascii():
        # The same result: ASCII has no accents and nothing NFKD changes, and its casefold
        # is its lower case. Most text is ASCII, and the loop below is slow on a large build.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of a text; punctuation, symbols and control characters separate."""
    return _WORD.findall(fold(text))


def index_text(text: str) -> str:
    """Text safe to index: control characters (which mark snippets) become spaces."""
    return _CONTROL.sub(" ", text)
