"""schemathesis as an outsider runs it: the `st` command, from the repository root, against a
real server's /docs/openapi.json.

Every check, positive and negative data, every phase, at least 100 cases per operation, a
fixed seed, no hooks, zero failures. The only configuration is the committed
schemathesis.toml, which the tool reads by itself from the current directory: it expects
400 (and, for sync and the event log, 410) of schema-valid requests to the operations that
take a `cursor`, because a cursor is valid only if the API issued it. That allowance is held
to its reason here: every schema-valid request the run sent that was refused must have been
refused for its `cursor`, and for nothing else.

The server runs with a channel key configured (sent as an outsider would, with --header)
and limits high enough never to refuse the run, so the key and rate-limit layers are in the
path; everything else is as deployed by default. It runs twice: with an integrators key,
as an outsider, and with a preview key and a link secret, so that `channel=preview`, `at=`
and POST /v1/preview-links are answered rather than refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, Server

SEED = 20240611
MAX_EXAMPLES = 100
KEYS = {"integrators": "fuzz-integrators-key", "preview": "fuzz-preview-key"}
#: What schemathesis.toml lets these operations answer to a schema-valid request, and why.
CURSOR_REFUSALS = {"400", "410"}
#: The operations the document gives a `cursor`: only they may refuse one.
CURSOR_OPERATIONS = {
    f"{method.upper()} {path}"
    for path, item in json.loads((ROOT / "openapi" / "openapi.json").read_bytes())["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict)
    and any(p.get("name") == "cursor" for p in operation.get("parameters", []))
}


@pytest.fixture(scope="module")
def keyed_server(built_db: Path, starts_server: None) -> Iterator[Server]:
    keys = ",".join(
        f"{channel}:{hashlib.sha256(key.encode()).hexdigest()}" for channel, key in KEYS.items()
    )
    srv = Server(
        built_db,
        CLINIC_API_KEYS=keys,
        CLINIC_PREVIEW_SECRET="a-secret-for-the-fuzzer-of-enough-length",
        CLINIC_RATE_LIMIT="1000000/60",
        CLINIC_RATE_LIMIT_KEY="1000000/60",
        CLINIC_ACCESS_LOG="0",
    ).start()
    yield srv
    srv.stop()


def st_command() -> list[str]:
    """The `st` installed beside this Python (the dev extra's), else the module."""
    st = Path(sys.executable).with_name("st")
    if st.exists():
        return [str(st)]
    found = shutil.which("st")
    return [found] if found else [sys.executable, "-m", "schemathesis.cli"]


def events(report_dir: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(report_dir.glob("*.ndjson")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)


def refused_for_something_else(report_dir: Path) -> list[str]:
    """Schema-valid requests refused for anything but their cursor, as `label: reason`."""
    wrong = []
    for event in events(report_dir):
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        cases = recorder.get("cases") or {}
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            case = (cases.get(case_id) or {}).get("value") or {}
            mode = ((case.get("meta") or {}).get("generation") or {}).get("mode")
            response = interaction.get("response") or {}
            status = str(response.get("status_code"))
            if mode != "positive" or status not in CURSOR_REFUSALS:
                continue
            label = f"{case.get('method')} {case.get('path')}"
            raw = (response.get("content") or {}).get("$base64", "")
            problem = json.loads(base64.b64decode(raw) or b"{}")
            named = {p.get("name") for p in problem.get("invalid_params") or []}
            if status == "410":
                named = {"cursor"} if "cursor" in (case.get("query") or {}) else {"?"}
            if label not in CURSOR_OPERATIONS or named != {"cursor"}:
                wrong.append(f"{label} {case.get('query')}: {status} {problem.get('detail')}")
    return wrong


@pytest.mark.parametrize("channel", sorted(KEYS))
def test_schemathesis_from_outside_finds_nothing(
    keyed_server: Server, tmp_path: Path, channel: str
) -> None:
    report_dir = tmp_path / "report"
    command = [
        *st_command(), "run", keyed_server.url + "/docs/openapi.json",
        "--checks", "all",
        "--mode", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--seed", str(SEED),
        # No example database (.hypothesis/ in the working directory): what a run finds
        # depends on the seed and the document alone, not on earlier runs on this machine.
        "--generation-database", "none",
        "--max-examples", str(MAX_EXAMPLES),
        "--header", f"X-API-Key: {KEYS[channel]}",
        # One worker: with several threads, CPython 3.11 can raise a spurious SystemError
        # ("AST constructor recursion depth mismatch", python/cpython#106905) while the
        # tool compiles its generators, which reads as an error of the run.
        "--workers", "1",
        "--request-timeout", "10",
        "--suppress-health-check", "too_slow",
        "--report", "ndjson,junit", "--report-dir", str(report_dir),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=ROOT,  # where schemathesis.toml is, as an outsider in a clone would run it
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    seconds = time.monotonic() - started
    summary = result.stdout[-8000:]
    assert result.returncode == 0, f"schemathesis found failures:\n{summary}\n{result.stderr}"
    print(f"\nschemathesis: {seconds:.0f} s\n" + summary[summary.find("API Operations") :])

    loaded = next(e["LoadingFinished"] for e in events(report_dir) if "LoadingFinished" in e)
    operations = loaded["statistic"]["operations"]
    assert operations["selected"] == operations["total"] >= 20
    cases = cases_per_operation(report_dir)
    # Every GET operation of the document, and only those (a probe of GET where only POST
    # is documented, answered 405, is not one).
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    gets = {f"GET {path}" for path, item in document["paths"].items() if "get" in item}
    cases = {label: n for label, n in cases.items() if label in gets}
    assert set(cases) == gets
    # Hypothesis stops early where fewer cases exist (an operation without parameters).
    thin = {label: n for label, n in cases.items() if n < MAX_EXAMPLES and label not in FIXED}
    assert thin == {}, cases
    assert refused_for_something_else(report_dir) == []


#: Operations without parameters: their only request is the same one, and the tool knows.
FIXED = {"GET /health", "GET /ready", "GET /v1/sitemap", "GET /v1/sitemap.xml"}


def cases_per_operation(report_dir: Path) -> dict[str, int]:
    counted: dict[str, int] = {}
    for event in events(report_dir):
        finished = event.get("ScenarioFinished")
        for case in ((finished or {}).get("recorder", {}).get("cases") or {}).values():
            value = case.get("value") or {}
            if value.get("method") == "GET":  # not the probes of other methods (405)
                label = f"GET {value.get('path')}"
                counted[label] = counted.get(label, 0) + 1
    return counted
