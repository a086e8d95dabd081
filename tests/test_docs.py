"""The README's settings table is the settings' own; the served OpenAPI document is the
committed one."""

from __future__ import annotations

import json
import re

from litestar.testing import TestClient

from api.settings import VARIABLES
from tests.support import ROOT


def readme_settings_table() -> list[tuple[str, str, str]]:
    """The rows of the README's settings table: variable, default, meaning."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return [
        (name, default, meaning)
        for name, default, meaning in re.findall(
            r"^\| `(\w+)` \| (.*?) \| (.*) \|$", section, flags=re.MULTILINE
        )
    ]


def test_the_readme_settings_table_is_the_settings_table() -> None:
    """Each row says what api/settings.py declares, default included, in the same order."""
    expected = [(v.name, v.shown_default, v.help) for v in VARIABLES]
    rows = readme_settings_table()
    assert rows, "no settings table in the README"
    wrong = [
        f"| `{name}` | {default} | {meaning} |"
        for name, default, meaning in expected
        if (name, default, meaning) not in rows
    ]
    extra = sorted({row[0] for row in rows} - {row[0] for row in expected})
    assert not wrong, "the README's settings table should have these rows:\n" + "\n".join(wrong)
    assert not extra, f"the README's settings table names variables the API does not read: {extra}"
    assert rows == expected, "the README's settings table is not in the order of api/settings.py"


def test_every_variable_the_code_names_is_a_setting() -> None:
    """An environment variable read anywhere in api/ is one of the settings (and so in the
    README's table), not read on the side."""
    named = {
        name
        for path in (ROOT / "api").rglob("*.py")
        for name in re.findall(r'"(CLINIC_[A-Z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert named, "no settings found"
    unknown = sorted(named - {v.name for v in VARIABLES})
    assert not unknown, f"variables named in api/ that are not in api/settings.py: {unknown}"


def test_served_document_is_the_committed_one(client: TestClient) -> None:  # type: ignore[type-arg]
    served = client.get("/docs/openapi.json").json()
    committed = (ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert served == json.loads(committed), "openapi/openapi.json is stale: python -m api openapi"
