"""Shared fixtures: a database built by the same code the CLI uses, the app, a real server."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.build import build
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
DATA = Path(__file__).resolve().parent / "data"


def build_db(content_dir: Path, db_path: Path) -> Path:
    asyncio.run(build(content_dir, db_path))
    return db_path


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
    return Path(shutil.copytree(CONTENT, tmp_path / "content"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Real servers in tests are not rate-limited unless a test asks for limits.
NO_LIMITS = {"CLINIC_RATE_LIMIT": "0", "CLINIC_RATE_LIMIT_KEY": "0"}


class Server:
    """A real server in a subprocess on a loopback port: uvicorn serving api.app:app, or
    `python -m api serve` with `cli=True`. Its output (the JSON access log) goes to a file,
    so a busy server never blocks on a full pipe."""

    def __init__(
        self, db_path: Path, content_dir: Path = CONTENT, *, cli: bool = False, **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cli = cli
        self.env = {
            **os.environ,
            **NO_LIMITS,
            "CLINIC_DB_PATH": str(db_path),
            "CLINIC_CONTENT_DIR": str(content_dir),
            "CLINIC_BUILD_ON_START": "0",
            **env,
        }
        self.log_path = db_path.parent / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.cli:
            return [sys.executable, "-m", "api", "serve", "--port", str(self.port)]
        return [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                "--port", str(self.port), "--no-server-header", "--no-access-log",
                "--log-level", "warning"]  # fmt: skip

    def start(self, timeout: float = 20.0) -> Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not answer /health in time")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 15) -> int | None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return None if self.process is None else self.process.returncode


@pytest.fixture(scope="session")
def server(built_db: Path) -> Iterator[Server]:
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
