"""What the tests share besides fixtures: paths, a database built by the same code the CLI
uses, an in-process client over edited content (`make_client`), a real server (`Server`).

Fixtures stay in conftest.py, where pytest finds them; test modules import from here.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import TestClient

from api.app import create_app
from api.build import BuildResult, build
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
DATA = Path(__file__).resolve().parent / "data"


def copy_content(folder: Path) -> Path:
    """A private copy of content/ at `folder`/content, for a test to edit."""
    return Path(shutil.copytree(CONTENT, folder / "content"))


def build_db(content_dir: Path, db_path: Path) -> Path:
    asyncio.run(build(content_dir, db_path))
    return db_path


def build_for(settings: Settings) -> BuildResult:
    """Build as `python -m api build` does with these settings: their base URL, state store
    and webhook endpoints."""
    return asyncio.run(
        build(
            settings.content_dir,
            settings.db_path,
            base_url=settings.base_url,
            state_path=settings.state_path,
            endpoints=[(e.name, e.url) for e in settings.webhooks],
        )
    )


def client_settings(content: Path, **settings: Any) -> Settings:
    """Settings for an in-process app over `content`: the database is `clinic.db` beside the
    content folder unless `db_path` says otherwise, and access lines are off (they are
    checked against real servers) unless `access_log` turns them on."""
    if "db_path" not in settings and content.resolve().is_relative_to(ROOT):
        # The database beside the repository's own content/ would land in the checkout.
        raise ValueError(f"{content} is in the repository: copy it (content_copy) or give db_path")
    return Settings(
        **{"db_path": content.parent / "clinic.db", "access_log": False, **settings},
        content_dir=content,
    )


@contextmanager
def make_client(content: Path, **settings: Any) -> Iterator[TestClient[Any]]:
    """Build `content` and serve it in process: the one way a test gets a client over
    content it has edited. `settings` are fields of `Settings` (see `client_settings`).
    Entered again over the same database, it builds again in place, as a deployment's next
    build does: what changed is what a client sees change."""
    config = client_settings(content, **settings)
    build_for(config)
    with TestClient(create_app(config)) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Real servers in tests are not rate-limited unless a test asks for limits.
NO_LIMITS = {"CLINIC_RATE_LIMIT": "0", "CLINIC_RATE_LIMIT_KEY": "0"}


class ServerPolicy:
    """Whether the test now running may start a server. conftest.py sets it before each test
    from the test's `server` marker, so that a server test without the marker fails at once
    instead of slipping into `pytest -m "not server"`. None outside pytest (bench scripts)."""

    allowed: bool | None = None


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
        # The loop `python -m api serve` runs.
        return [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                "--port", str(self.port), "--loop", "asyncio", "--no-server-header",
                "--no-access-log", "--log-level", "warning"]  # fmt: skip

    def start(self, timeout: float = 20.0) -> Server:
        if ServerPolicy.allowed is False:
            raise RuntimeError(
                "this test starts a real server but is not marked `server`: add"
                " @pytest.mark.server, or start it in a fixture that requests `starts_server`"
            )
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
