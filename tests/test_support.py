"""The suite's own rules: a test that starts a real server is marked `server` (so that
`pytest -m "not server"` leaves it out), and `make_client` never writes into the checkout."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import CONTENT, ROOT, Server, make_client

#: String constants that only a command starting a server (or a browser driver) contains.
SERVER_WORDS = {"uvicorn", "serve", "sync_playwright"}


def test_an_unmarked_test_may_not_start_a_server(built_db: Path) -> None:
    server = Server(built_db)
    try:
        with pytest.raises(RuntimeError, match="not marked `server`"):
            server.start()
    finally:
        server.stop()  # had it started, it is not left running


def _is_fixture(node: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in node.decorator_list)


def _is_marked(node: ast.FunctionDef) -> bool:
    return any(ast.unparse(d) == "pytest.mark.server" for d in node.decorator_list)


def _starts_a_server(node: ast.FunctionDef) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and inner.value in SERVER_WORDS:
            return True
        if isinstance(inner, ast.Name) and inner.id in SERVER_WORDS:
            return True
    return False


def test_server_commands_run_only_where_the_marker_follows() -> None:
    """Servers started without the Server class (a raw `python -m api serve`, a uvicorn
    command, a browser driver) are not seen by its check: each such fixture requests
    `starts_server`, each such test is marked, read from the source."""
    unmarked: list[str] = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"))
        whole_file = any(
            isinstance(node, ast.Assign) and ast.unparse(node) == "pytestmark = pytest.mark.server"
            for node in module.body
        )
        for node in ast.walk(module):
            if not isinstance(node, ast.FunctionDef) or not _starts_a_server(node):
                continue
            if _is_fixture(node):
                ok = "starts_server" in [a.arg for a in node.args.args]
            elif node.name.startswith("test_"):
                ok = whole_file or _is_marked(node)
            else:
                continue  # a helper: the fixture or test that calls it is what counts
            if not ok:
                unmarked.append(f"{path.name}:{node.lineno} {node.name}")
    assert unmarked == [], "mark these `server` (or request `starts_server`)"


def test_make_client_keeps_the_database_out_of_the_checkout() -> None:
    with pytest.raises(ValueError, match="is in the repository"), make_client(CONTENT):
        pass
