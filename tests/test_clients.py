"""Typed clients generated from openapi/openapi.json work against a real server.

The clients are generated here, into temporary folders, from the committed document: nothing
generated is committed, so it cannot drift from the document, and a change to the document
that breaks a consumer fails this file. A Python client from openapi-python-client and
TypeScript types from openapi-typescript (used through openapi-fetch, compiled with
`tsc --strict`) are each used by a small committed consumer (clients/python/consumer.py,
clients/typescript/src/consumer.ts) that walks the channels' real flows against uvicorn on
127.0.0.1, with channel keys on, as a deployment runs.

Node and npm are needed (Node 20 or newer): without node these tests fail rather than skip. The
TypeScript toolchain is pinned by clients/typescript/package-lock.json; when node_modules is
missing or differs from the lock, `npm ci` installs it first (from the npm registry).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, Server

#: A real server or a browser, and outside toolchains (node, tsc, mypy) that take seconds:
#: `pytest -m "not server"` leaves out the whole file.
pytestmark = pytest.mark.server

DOCUMENT = ROOT / "openapi" / "openapi.json"
PYTHON = ROOT / "clients" / "python"
TYPESCRIPT = ROOT / "clients" / "typescript"
FLOWS = ("website", "kiosk", "newsletter", "errors", "operations")

#: One key per channel that reads the API; each consumer flow uses its channel's.
KEYS = {
    "website": "website-consumer-key",
    "kiosk": "kiosk-consumer-key",
    "newsletter": "newsletter-consumer-key",
    "integrators": "integrators-consumer-key",
}
FLOW_KEYS = {
    "website": "website",
    "kiosk": "kiosk",
    "newsletter": "newsletter",
    "errors": "integrators",
    "operations": "integrators",
}

#: The only generator warnings allowed: bodies that are XML, which it cannot type.
XML_BODIES = {
    ("GET", "/v1/feeds/articles.atom", "application/atom+xml"),
    ("GET", "/v1/feeds/articles.rss", "application/rss+xml"),
    ("GET", "/v1/sitemap.xml", "application/xml"),
}


def run(
    command: list[str], *, timeout: float = 300, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def keyed_server(db_path: Path) -> Server:
    digests = ",".join(
        f"{channel}:{hashlib.sha256(key.encode()).hexdigest()}" for channel, key in KEYS.items()
    )
    return Server(db_path, CLINIC_API_KEYS=digests)


def documented_paths() -> set[str]:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return {path for path, item in document["paths"].items() if "get" in item}


def requested_routes(server: Server) -> dict[str, set[int]]:
    """Route template → statuses answered, from the server's JSON access log."""
    routes: dict[str, set[int]] = {}
    for line in server.log().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "request":
                routes.setdefault(entry["route"], set()).add(entry["status"])
    return routes


class Runs:
    """Each flow of one consumer, run once against its own server; tests read the outcome."""

    def __init__(self, server: Server, command: list[str], env: dict[str, str]) -> None:
        self.server = server
        self.outcomes: dict[str, subprocess.CompletedProcess[str]] = {}
        for flow in FLOWS:
            key = KEYS[FLOW_KEYS[flow]]
            self.outcomes[flow] = run(
                [*command, server.url, key, flow], cwd=ROOT, env=env, timeout=120
            )

    def summary(self, flow: str) -> dict[str, Any]:
        outcome = self.outcomes[flow]
        assert outcome.returncode == 0, f"{flow} failed:\n{outcome.stdout}\n{outcome.stderr}"
        result: dict[str, Any] = json.loads(outcome.stdout)
        return result


def check_flow(flow: str, summary: dict[str, Any]) -> None:
    """What each flow must have seen, the same for both consumers (the consumers check the
    details; this checks they walked far enough)."""
    if flow == "website":
        assert summary["pages"]["articles"] >= 2  # the Link header was followed
        assert summary["pages"]["symptoms"] >= 2
        assert set(summary["details"]) >= {"crps", "ketamine-infusion"}
        assert "burning-pain" in summary["included"]["symptoms"]
        assert summary["included"]["treatments"] == ["ketamine-infusion"]
        assert summary["sitemap"] > 0
        assert summary["events"]["pages"] >= 2
        assert summary["events"]["types"]["content.changed"] >= 1
        assert summary["events"]["types"]["item.published"] > 25
    elif flow == "kiosk":
        assert summary["topic"][0] == "what-is-ketamine"
        assert "ketamine" in summary["understood"]["ketamene"]
        assert summary["search"]
        assert summary["spanish"]
        assert summary["sync"]["pages"] >= 2
        assert summary["sync"]["locales"] == ["en", "es"]
        assert summary["sync"]["types"] == ["article", "condition", "faq", "symptom", "treatment"]
    elif flow == "newsletter":
        assert summary["titles"]
    elif flow == "errors":
        assert set(summary) == {"404", "400", "401"}
        assert "limit" in summary["400"]
    else:
        assert summary["health"] == "ok"
        assert summary["ready"] > 0


# Python: openapi-python-client.


@pytest.fixture(scope="module")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The generated package `clinic_client` in a temporary folder, and the generator's
    output (its warnings)."""
    folder = tmp_path_factory.mktemp("python-client")
    generated = run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(DOCUMENT),
         "--meta", "none", "--config", str(PYTHON / "openapi-python-client.yaml"),
         "--output-path", str(folder / "clinic_client")],
        cwd=folder,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert (folder / "clinic_client" / "models" / "article_detail.py").exists()
    return folder, generated.stdout + generated.stderr


@pytest.fixture(scope="module")
def python_runs(
    python_client: tuple[Path, str], built_db: Path, starts_server: None
) -> Iterator[Runs]:
    folder, _ = python_client
    server = keyed_server(built_db).start()
    env = {**os.environ, "PYTHONPATH": str(folder)}
    try:
        yield Runs(server, [sys.executable, str(PYTHON / "consumer.py")], env)
    finally:
        server.stop()


def generator_warnings(output: str) -> set[tuple[str, str, str]]:
    """(method, path, media type) of each `WARNING parsing ...` openapi-python-client printed."""
    found = set()
    for block in output.split("WARNING parsing ")[1:]:
        head = re.match(r"(\w+) (\S+) within \S+\.\s+(.*?)\n", block, re.S)
        assert head, block[:300]
        media = re.search(r"Unsupported content_type (\S+)\)", head.group(3))
        found.add((head.group(1), head.group(2), media.group(1) if media else head.group(3)))
    return found


def test_python_generator_warns_only_about_xml_bodies(python_client: tuple[Path, str]) -> None:
    _, output = python_client
    assert generator_warnings(output) == XML_BODIES
    assert output.count("WARNING") == len(XML_BODIES)
    assert "Error" not in output


def test_python_consumer_type_checks_strictly(python_client: tuple[Path, str]) -> None:
    """mypy --strict over the consumer and the generated client it imports: the
    consumer's use of every model and parameter is what the document says."""
    folder, _ = python_client
    checked = run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version",
         "3.11", str(PYTHON / "consumer.py")],
        cwd=folder, env={**os.environ, "MYPYPATH": str(folder)},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("flow", FLOWS)
def test_python_consumer_flow(python_runs: Runs, flow: str) -> None:
    check_flow(flow, python_runs.summary(flow))


def test_python_consumer_called_every_operation(python_runs: Runs) -> None:
    """Each documented GET was answered with a 200 that the consumer parsed (the flows
    check the parsed type of each)."""
    routes = requested_routes(python_runs.server)
    assert {path for path in documented_paths() if 200 in routes.get(path, set())} == (
        documented_paths()
    )
    # The errors flow's problems: a wrong key is refused before routing.
    assert {400, 401, 404} <= set().union(*routes.values())


# TypeScript: openapi-typescript and openapi-fetch, compiled with tsc --strict.


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is needed for the TypeScript client (Node 20 or newer, with npm)")
    version = run([found, "--version"]).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"node {version}: 20 or newer needed"
    return found


def installed_matches_lock() -> bool:
    """npm keeps what it installed in node_modules/.package-lock.json: the same packages
    as the committed lock means `npm ci` has nothing to do."""
    installed = TYPESCRIPT / "node_modules" / ".package-lock.json"
    if not installed.exists():
        return False
    wanted = json.loads((TYPESCRIPT / "package-lock.json").read_text(encoding="utf-8"))
    have = json.loads(installed.read_text(encoding="utf-8"))
    packages = {k: v for k, v in wanted["packages"].items() if k}
    return {k: v.get("version") for k, v in packages.items()} == {
        k: v.get("version") for k, v in have["packages"].items()
    }


@pytest.fixture(scope="module")
def toolchain() -> str:
    """node, with the pinned toolchain in clients/typescript/node_modules."""
    return ensure_toolchain()


def ensure_toolchain() -> str:
    """node, after `npm ci` in clients/typescript when node_modules is not as locked."""
    node_path = node()
    if not installed_matches_lock():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install the TypeScript toolchain (npm ci)")
        installed = run([npm, "ci", "--no-audit", "--no-fund"], cwd=TYPESCRIPT, timeout=600)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert installed_matches_lock()
    return node_path


@pytest.fixture(scope="module")
def typescript_build(toolchain: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The consumer with freshly generated types, compiled in a temporary copy of
    clients/typescript; and what openapi-typescript printed."""
    folder = tmp_path_factory.mktemp("typescript-client")
    for name in ("package.json", "tsconfig.json"):
        shutil.copy(TYPESCRIPT / name, folder / name)
    shutil.copytree(TYPESCRIPT / "src", folder / "src")
    (folder / "node_modules").symlink_to(TYPESCRIPT / "node_modules", target_is_directory=True)
    modules = TYPESCRIPT / "node_modules"
    generated = run(
        [toolchain, str(modules / "openapi-typescript" / "bin" / "cli.js"), str(DOCUMENT),
         "--output", str(folder / "generated" / "schema.ts")],
        cwd=folder,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    compiled = tsc(toolchain, folder)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return folder, generated.stdout + generated.stderr


def tsc(node_path: str, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    compiler = TYPESCRIPT / "node_modules" / "typescript" / "bin" / "tsc"
    return run([node_path, str(compiler), "-p", str(folder), "--strict", *extra], cwd=folder)


@pytest.fixture(scope="module")
def typescript_runs(
    toolchain: str, typescript_build: tuple[Path, str], built_db: Path, starts_server: None
) -> Iterator[Runs]:
    folder, _ = typescript_build
    server = keyed_server(built_db).start()
    try:
        yield Runs(
            server, [toolchain, str(folder / "dist" / "src" / "consumer.js")], {**os.environ}
        )
    finally:
        server.stop()


def test_typescript_generator_warns_about_nothing(typescript_build: tuple[Path, str]) -> None:
    """openapi-typescript types XML bodies as strings, so it has nothing to warn about:
    it prints its banner and the file it wrote, nothing else."""
    _, output = typescript_build
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 2, output
    assert re.fullmatch(r"\W*openapi-typescript \d+\.\d+\.\d+", lines[0]), output
    assert "generated/schema.ts" in lines[1] or "schema.ts" in lines[1], output


def test_typescript_consumer_needs_no_casts(typescript_build: tuple[Path, str]) -> None:
    """The consumer compiled with `tsc --strict` (in the fixture) and says nothing the
    compiler is told to believe: no `any`, no assertions, no suppressed errors."""
    source = (TYPESCRIPT / "src" / "consumer.ts").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    assert not re.search(r"\bany\b|\bas\s+(?!const\b)\w|@ts-|<\w+>\s*\w", code)


def test_typescript_reading_body_html_needs_the_check(
    toolchain: str, typescript_build: tuple[Path, str]
) -> None:
    """The compiler refuses `body_html` on an item that may be the kiosk's copy, and
    accepts it after `rendition === "full"`: the narrowing is the document's, not luck."""
    built, _ = typescript_build
    folder = built / "narrowing"
    (folder / "src").mkdir(parents=True)
    (folder / "tsconfig.json").write_text(
        json.dumps({"extends": "../tsconfig.json", "compilerOptions": {"noEmit": True},
                    "include": ["src", "../generated"]}),
        encoding="utf-8",
    )  # fmt: skip
    item = 'components["schemas"]["ArticleDetail"] | components["schemas"]["ArticleDetailKiosk"]'
    header = 'import type { components } from "../../generated/schema.js";\n'
    unchecked = folder / "src" / "item.ts"
    unchecked.write_text(
        f"{header}export const html = (item: {item}): string => item.body_html;\n",
        encoding="utf-8",
    )
    refused = tsc(toolchain, folder)
    assert refused.returncode != 0
    assert "error TS2339: Property 'body_html' does not exist" in refused.stdout
    unchecked.write_text(
        f"{header}export const html = (item: {item}): string =>\n"
        '  item.rendition === "full" ? item.body_html : item.body_text;\n',
        encoding="utf-8",
    )
    accepted = tsc(toolchain, folder)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


@pytest.mark.parametrize("flow", FLOWS)
def test_typescript_consumer_flow(typescript_runs: Runs, flow: str) -> None:
    check_flow(flow, typescript_runs.summary(flow))


def test_typescript_consumer_called_every_operation(typescript_runs: Runs) -> None:
    routes = requested_routes(typescript_runs.server)
    assert {path for path in documented_paths() if 200 in routes.get(path, set())} == (
        documented_paths()
    )
    # The errors flow's problems: a wrong key is refused before routing.
    assert {400, 401, 404} <= set().union(*routes.values())
