"""Shared fixtures: a database built by the same code the CLI uses, the app, a real server.
Helpers that are not fixtures live in tests/support.py.

A test that starts a real server process (uvicorn, `python -m api serve`) or a browser is
marked `server`, so that `pytest -m "not server"` runs the in-process part alone. A test is
marked by itself when it uses a fixture that requests `starts_server` (every fixture that
starts one does); a test that starts one in its own body carries `@pytest.mark.server`. One
that does neither fails when it starts a `Server` (support.ServerPolicy).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from tests.support import CONTENT, Server, ServerPolicy, build_db, copy_content


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # fixturenames is the closure: fixtures requested through other fixtures count.
        if "starts_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.server)


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    ServerPolicy.allowed = item.get_closest_marker("server") is not None


@pytest.fixture(scope="session")
def starts_server() -> None:
    """Requested by every fixture that starts a server process or a browser, so that each
    test using it is marked `server`."""


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """content/ built once for the whole run; tests must not write to it."""
    return build_db(CONTENT, tmp_path_factory.mktemp("db") / "clinic.db")


@pytest.fixture(scope="session")
def settings(built_db: Path) -> Settings:
    # In-process clients log nothing: access lines are checked against real servers.
    return Settings(
        content_dir=CONTENT, db_path=built_db, base_url="https://clinic.test", access_log=False
    )


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A private copy of content/ that a test may edit."""
    return copy_content(tmp_path)


@pytest.fixture(scope="session")
def server(built_db: Path, starts_server: None) -> Iterator[Server]:
    """One real server over the session's database."""
    srv = Server(built_db).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """content/ with items made overdue, due and withdrawn (tests/website_corpus.py), built."""
    from tests.website_corpus import build_corpus

    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def corpus_client(corpus_settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(corpus_settings)) as test_client:
        yield test_client
