"""Checks of content/synonyms.yaml beyond its struct: every term searchable, none twice."""

from __future__ import annotations

from api.build.load import SYNONYMS_FILE, ContentError, Loaded
from api.storage.text import words

#: Phrases longer than this are sentences, not names a patient types.
MAX_WORDS = 6


def check_synonyms(loaded: Loaded) -> list[ContentError]:
    if loaded.synonyms is None:
        return []
    errors: list[ContentError] = []
    first: dict[str, str] = {}
    for g, group in enumerate(loaded.synonyms.groups):
        for t, term in enumerate(group.terms):
            at = f"groups[{g}].terms[{t}]"
            folded = " ".join(words(term))
            if not folded:
                errors.append(ContentError(SYNONYMS_FILE, at, "has no letters or digits"))
            elif len(folded.split()) > MAX_WORDS:
                errors.append(
                    ContentError(
                        SYNONYMS_FILE, at, f"more than {MAX_WORDS} words; use a shorter name"
                    )
                )
            elif folded in first:
                errors.append(
                    ContentError(
                        SYNONYMS_FILE,
                        at,
                        f"'{term}' is already at {first[folded]}"
                        " (case and accents do not count); a term belongs to one group",
                    )
                )
            else:
                first[folded] = at
    return errors
