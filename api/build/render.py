"""Markdown to sanitized HTML, plain text, a table of contents and readability figures."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import nh3
import pyphen
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

from schemas.resources import TocEntry

#: Adults read patient material at about this many words a minute.
WORDS_PER_MINUTE = 200

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "dl", "dt", "em",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "th": {"align"}, "td": {"align"},
    "ol": {"start"},
}  # fmt: skip
_URL_SCHEMES = {"http", "https", "mailto", "tel"}
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*|\d+(?:[.,]\d+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    text: str
    toc: list[TocEntry]
    word_count: int
    reading_minutes: int
    reading_grade: float


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # Raw HTML in Markdown is turned off: editors write Markdown, and nh3 then removes
    # anything that slipped through link or image syntax.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.use(anchors_plugin, min_level=2, max_level=4, permalink=False)
    return md


def render(markdown: str, locale: str = "en") -> Rendered:
    md = _markdown()
    tokens = md.parse(markdown)
    raw_html = md.renderer.render(tokens, md.options, {})
    html = nh3.clean(
        raw_html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    text = plain_text(tokens)
    words = _WORD.findall(text)
    count = len(words)
    return Rendered(
        html=html,
        text=text,
        toc=_toc(tokens),
        word_count=count,
        reading_minutes=max(1, math.ceil(count / WORDS_PER_MINUTE)) if count else 0,
        reading_grade=_grade(text, words, locale),
    )


def plain_text(tokens: list[Token]) -> str:
    """The text of the document, one block a line, without markup."""
    blocks: list[str] = []
    for token in tokens:
        if token.type == "inline":
            blocks.append(_inline_text(token))
        elif token.type in ("code_block", "fence"):
            blocks.append(token.content.rstrip("\n"))
    return "\n".join(block for block in blocks if block)


def markdown_to_text(markdown: str) -> str:
    return plain_text(_markdown().parse(markdown))


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()


def _toc(tokens: list[Token]) -> list[TocEntry]:
    toc = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and "id" in token.attrs:
            toc.append(
                TocEntry(
                    level=int(token.tag[1]),
                    id=str(token.attrs["id"]),
                    title=_inline_text(tokens[i + 1]),
                )
            )
    return toc


@lru_cache(maxsize=8)
def _hyphenator(locale: str) -> pyphen.Pyphen:
    language = pyphen.language_fallback(locale.replace("-", "_")) or "en_US"
    return pyphen.Pyphen(lang=language)


@lru_cache(maxsize=1 << 16)
def _syllables(word: str, locale: str) -> int:
    # Words repeat a great deal across a corpus; hyphenating each once is most of the saving
    # on a large build.
    return len(_hyphenator(locale).positions(word)) + 1


def reading_grade(text: str, locale: str = "en") -> float:
    """Flesch-Kincaid grade level, syllables counted from pyphen's hyphenation points."""
    return _grade(text, _WORD.findall(text), locale)


def _grade(text: str, words: list[str], locale: str) -> float:
    """reading_grade of `text`, whose words (`_WORD`) are already found."""
    if not words:
        return 0.0
    # A heading or list item without a full stop still ends where its line ends.
    sentences = sum(
        max(1, len(_SENTENCE_END.findall(line))) for line in text.splitlines() if line.strip()
    )
    # Each distinct word is looked up once: a text repeats its words a great deal.
    syllables = sum(_syllables(word, locale) * n for word, n in Counter(words).items())
    grade = 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
    return round(grade, 1)
