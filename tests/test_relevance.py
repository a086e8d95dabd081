"""The relevance set (tests/data/relevance.yaml): real patient questions and misspellings
must find what the patient meant in the top 3. Prints hit rate and MRR; fails below 0.9."""

from __future__ import annotations

from typing import Any

import yaml
from litestar.testing import TestClient

from tests.support import DATA

TOP = 3
MIN_HIT_RATE = 0.9


def test_relevance_set(client: TestClient[Any]) -> None:
    cases = yaml.safe_load((DATA / "relevance.yaml").read_text(encoding="utf-8"))["cases"]
    assert len(cases) >= 25
    hits = 0
    reciprocal = 0.0
    misses = []
    for case in cases:
        params = {"q": case["q"], "limit": 10, "locale": case.get("locale", "en")}
        response = client.get("/v1/search", params=params)
        assert response.status_code == 200, response.text
        found = [f"{hit['type']}/{hit['slug']}" for hit in response.json()["data"]]
        ranks = [found.index(e) + 1 for e in case["expect"] if e in found]
        best = min(ranks, default=None)
        if best is not None:
            reciprocal += 1 / best
        if best is not None and best <= TOP:
            hits += 1
        else:
            misses.append(f"  {case['q']!r}: wanted {case['expect']}, got {found[:TOP]}")
    hit_rate = hits / len(cases)
    mrr = reciprocal / len(cases)
    print(f"\nrelevance: {len(cases)} queries, hit rate@{TOP} {hit_rate:.3f}, MRR {mrr:.3f}")
    for miss in misses:
        print(miss)
    assert hit_rate >= MIN_HIT_RATE, "\n".join(misses)
