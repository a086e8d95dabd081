"""The README lists every setting; the served OpenAPI document is the committed one."""

from __future__ import annotations

import json
import re

from litestar.testing import TestClient

from tests.support import ROOT


def test_every_setting_is_in_the_readme() -> None:
    source = (ROOT / "api" / "settings.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = set(re.findall(r'"(CLINIC_[A-Z_]+)"', source))
    assert names, "no settings found"
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"settings missing from the README's table: {missing}"


def test_served_document_is_the_committed_one(client: TestClient) -> None:  # type: ignore[type-arg]
    served = client.get("/docs/openapi.json").json()
    committed = (ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert served == json.loads(committed), "openapi/openapi.json is stale: python -m api openapi"
