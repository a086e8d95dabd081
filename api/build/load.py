"""Read content/ into validated source structs, collecting every problem in one pass.

A problem is reported as `path: field: reason`, the path relative to the content folder,
so an editor can go straight to the line that needs fixing.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Hashable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from itertools import repeat
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml

from api.registry import PAGE_FOLDERS, PAGE_SOURCES
from schemas.content import (
    FaqTopicSource,
    Page,
    PeopleSource,
    SiteSource,
    SynonymsSource,
)

#: Optional: groups of equivalent search terms.
SYNONYMS_FILE = "synonyms.yaml"

#: Content files are small; anything larger is a mistake (a pasted image, a log file).
MAX_FILE_BYTES = 512 * 1024
#: YAML nesting deeper than this is refused before it can exhaust the parser.
MAX_YAML_DEPTH = 20

#: libyaml's loader when PyYAML was built with it: the pure-Python one is most of a large
#: build's time (the target: 10,000 articles and 50,000 FAQs within a minute).
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Refuses a key given twice in one mapping; YAML loaders keep the last one silently,
    so a second `references:` would quietly replace the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key}'", key_node.start_mark
                    )
                seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?(.*)\Z", re.S | re.M)
_JSON_PATH = re.compile(r" - at `\$(.*)`$")

T = TypeVar("T", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True, order=True)
class ContentError:
    path: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.reason}"


class ContentErrors(Exception):
    """The content did not validate; nothing was written."""

    def __init__(self, errors: list[ContentError]) -> None:
        self.errors = sorted(errors)
        super().__init__("\n".join(map(str, self.errors)))


@dataclass(frozen=True, slots=True)
class PageFile:
    path: str
    kind: str
    source: Page
    body: str


@dataclass(slots=True)
class Loaded:
    site: SiteSource | None = None
    people: PeopleSource | None = None
    pages: list[PageFile] = field(default_factory=list)
    faq_topics: list[tuple[str, FaqTopicSource]] = field(default_factory=list)
    errors: list[ContentError] = field(default_factory=list)
    #: Reported, not fatal (e.g. a live item relating to one that is not live yet).
    notices: list[ContentError] = field(default_factory=list)
    synonyms: SynonymsSource | None = None
    invalid_slugs: set[tuple[str, str]] = field(default_factory=set)


def load(content_dir: Path, workers: int | None = None) -> Loaded:
    out = Loaded()
    if not content_dir.is_dir():
        out.errors.append(ContentError(str(content_dir), "-", "content folder not found"))
        return out
    out.site = _load_yaml_file(content_dir, "site.yaml", SiteSource, out.errors)
    out.people = _load_yaml_file(content_dir, "people.yaml", PeopleSource, out.errors)
    if (content_dir / SYNONYMS_FILE).is_file():
        out.synonyms = _load_yaml_file(content_dir, SYNONYMS_FILE, SynonymsSource, out.errors)
    files = [
        (folder, path) for folder in PAGE_SOURCES for path in _files(content_dir / folder, ".md")
    ]
    files += [("faqs", path) for path in _files(content_dir / "faqs", ".yaml", ".yml")]
    for part in _load_parts(content_dir, files, workers):
        out.pages.extend(part.pages)
        out.faq_topics.extend(part.faq_topics)
        out.errors.extend(part.errors)
        out.invalid_slugs |= part.invalid_slugs
    return out


#: Below this many bytes of page and FAQ files, content is read in this process: starting
#: workers costs more than it saves.
PARALLEL_FROM_BYTES = 4 * 1024 * 1024
#: Files are handed to the workers in runs of about this many bytes: small enough that the
#: two workers finish together, large enough that handing them over costs little.
PART_BYTES = 256 * 1024


def _load_parts(
    content_dir: Path, files: list[tuple[str, Path]], workers: int | None
) -> Iterator[Loaded]:
    """The files read and converted, in runs whose results come back in the files' order.

    Parsing YAML and converting it is most of a large check (the target: 10,000 articles
    and 50,000 FAQs built within a minute), so a large content folder is read by one forked
    process per CPU. The result does not depend on it.
    """
    sizes = [path.stat().st_size for _, path in files]
    workers = workers or os.cpu_count() or 1
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    if workers < 2 or sum(sizes) < PARALLEL_FROM_BYTES or not can_fork:
        yield _load_files(content_dir, files)
        return
    parts: list[list[tuple[str, Path]]] = [[]]
    part_bytes = 0
    for file, size in zip(files, sizes, strict=True):
        if part_bytes >= PART_BYTES:
            parts.append([])
            part_bytes = 0
        parts[-1].append(file)
        part_bytes += size
    # fork: workers start at once and need no importable __main__ (spawn re-imports it).
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(_load_files, repeat(content_dir), parts)


def _load_files(content_dir: Path, files: list[tuple[str, Path]]) -> Loaded:
    """Pages and FAQ topics of `files` (folder, path), with their problems."""
    out = Loaded()
    for folder, path in files:
        rel = _rel(path, content_dir)
        text = _read(path, rel, out.errors)
        if text is None:
            continue
        if folder == "faqs":
            topic = _convert(_parse_yaml(text, rel, out.errors), FaqTopicSource, rel, out.errors)
            if topic is not None:
                out.faq_topics.append((rel, topic))
            continue
        match = _FRONT_MATTER.match(text)
        if match is None:
            out.errors.append(
                ContentError(
                    rel, "front matter", "must start with a '---' line and close with another"
                )
            )
            continue
        data = _parse_yaml(match.group(1), rel, out.errors)
        source = _convert(data, PAGE_SOURCES[folder], rel, out.errors)
        if source is not None:
            out.pages.append(PageFile(rel, PAGE_FOLDERS[folder], source, match.group(2)))
        elif isinstance(data, dict) and isinstance(data.get("slug"), str):
            # Already reported; keep its slug so references to it do not fail as well.
            out.invalid_slugs.add((PAGE_FOLDERS[folder], data["slug"]))
    return out


def _files(folder: Path, *suffixes: str) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _read(path: Path, rel: str, errors: list[ContentError]) -> str | None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        errors.append(
            ContentError(rel, "-", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
        )
        return None
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        errors.append(ContentError(rel, "-", f"not valid UTF-8 (byte {exc.start}, line {line})"))
        return None


def load_site(content_dir: Path) -> SiteSource | None:
    """The site settings alone (site.yaml), or None when they cannot be read."""
    errors: list[ContentError] = []
    site = _load_yaml_file(content_dir, "site.yaml", SiteSource, errors)
    return None if errors else site


def _load_yaml_file(root: Path, name: str, struct: type[T], errors: list[ContentError]) -> T | None:
    path = root / name
    if not path.is_file():
        errors.append(ContentError(name, "-", "file is missing"))
        return None
    text = _read(path, name, errors)
    if text is None:
        return None
    return _convert(_parse_yaml(text, name, errors), struct, name, errors)


class _Missing:
    pass


_MISSING = _Missing()


def _parse_yaml(text: str, rel: str, errors: list[ContentError]) -> Any:
    try:
        depth = _yaml_depth(text)
        if depth > MAX_YAML_DEPTH:
            errors.append(
                ContentError(rel, "-", f"YAML nested {depth} deep; the limit is {MAX_YAML_DEPTH}")
            )
            return _MISSING
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        errors.append(ContentError(rel, "-", f"invalid YAML{where}: {problem}"))
        return _MISSING


def _yaml_depth(text: str) -> int:
    """How deep the YAML nests, found from its events without building any objects."""
    depth = deepest = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_YAML_DEPTH:
                break
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


def _convert(data: Any, struct: type[T], rel: str, errors: list[ContentError]) -> T | None:
    if data is _MISSING:
        return None
    if not isinstance(data, dict):
        errors.append(ContentError(rel, "-", "expected a mapping of fields at the top level"))
        return None
    # msgspec stops at the first problem; name every unknown and missing top-level field
    # first, so one run shows an editor all of them.
    known, required = _field_names(struct)
    problems = [
        ContentError(rel, str(key), "unknown field (check the spelling)")
        for key in data
        if key not in known
    ] + [
        ContentError(rel, name, "required field is missing")
        for name in required
        if name not in data
    ]
    errors.extend(problems)
    try:
        converted = msgspec.convert({k: v for k, v in data.items() if k in known}, struct)
    except msgspec.ValidationError as exc:
        error = _name_keys(_validation_error(rel, str(exc)), data)
        if error.field not in {p.field for p in problems}:
            errors.append(error)
        return None
    return None if problems else converted


@cache
def _field_names(struct: type[msgspec.Struct]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The top-level field names of `struct`, and the required ones in field order.

    Asked once per struct: msgspec.inspect.type_info evaluates every annotation of the
    struct and the structs it nests, which cost more than parsing when done per file.
    """
    fields = msgspec.inspect.type_info(struct).fields  # type: ignore[attr-defined]
    return (
        frozenset(f.encode_name for f in fields),
        tuple(f.encode_name for f in fields if f.required),
    )


def _name_keys(error: ContentError, data: dict[str, Any]) -> ContentError:
    """msgspec says `translations[...]` for a value in a mapping; name the key when the
    mapping has only one, so the editor sees `translations.es.disclaimer`."""
    head, sep, tail = error.field.partition("[...]")
    value = data.get(head) if sep else None
    if isinstance(value, dict) and len(value) == 1:
        return ContentError(error.path, f"{head}.{next(iter(value))}{tail}", error.reason)
    return error


def _validation_error(rel: str, message: str) -> ContentError:
    """Turn msgspec's "reason - at `$.a[0].b`" into (field "a[0].b", reason)."""
    match = _JSON_PATH.search(message)
    if match is None:
        if message.startswith("Object missing required field"):
            return ContentError(rel, message.split("`")[1], "required field is missing")
        return ContentError(rel, "-", message.replace("`", ""))
    reason = message[: match.start()]
    where = match.group(1).lstrip(".")
    if reason.startswith("Object missing required field"):
        name = reason.split("`")[1]
        return ContentError(rel, f"{where}.{name}", "required field is missing")
    if reason.startswith("Object contains unknown field"):
        name = reason.split("`")[1]
        return ContentError(rel, f"{where}.{name}", "unknown field (check the spelling)")
    return ContentError(rel, where, reason.replace("`", ""))
