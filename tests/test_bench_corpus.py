"""The benchmark's synthetic corpus is valid content: it passes check and builds."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from api.build import build, check
from bench.corpus import generate


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def test_corpus_passes_check_and_builds(tmp_path: Path) -> None:
    content = generate(tmp_path / "content", articles=12, faqs=520, words=200)
    loaded = check(content)
    assert loaded.errors == []
    result = asyncio.run(build(content, tmp_path / "bench.db"))
    assert result.write.created == result.items == 12 + 520 + 20 + 40 + 20


def test_corpus_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", articles=3, faqs=10, words=100)
    b = generate(tmp_path / "b", articles=3, faqs=10, words=100)
    assert _digest(a) == _digest(b)
