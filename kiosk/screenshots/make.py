"""Screenshots of every kiosk screen, portrait 1080 by 1920 and a 1280 by 800 tablet, as PNG files
beside this script (shown in the README). Run from the repository root:

    .venv/bin/python kiosk/screenshots/make.py

It builds content/ into a temporary database, serves it with uvicorn on a loopback port and
drives Debian's Chromium (/usr/bin/chromium) with Playwright, as the browser tests do.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
VIEWPORTS = {"portrait": (1080, 1920), "tablet": (1280, 800)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def home(page: Page) -> None:
    page.locator("#brand").click()
    page.wait_for_selector(".topic")
    page.locator("#search").fill("")


def suggestions(page: Page) -> None:
    home(page)
    page.locator("#search").fill("ketamne saf")


def topic(page: Page) -> None:
    home(page)
    page.locator(".topic").nth(1).click()


def question(page: Page) -> None:
    topic(page)
    page.locator(".question").first.click()


def urgent(page: Page) -> None:
    home(page)
    page.locator(".urgent-button").click()


def spanish(page: Page) -> None:
    home(page)
    page.get_by_role("button", name="Español").click()
    page.locator("#search").fill("nauseas")


def spanish_question(page: Page) -> None:
    spanish(page)
    page.locator(".topic").nth(3).click()
    page.locator(".question").nth(2).click()


def setup(page: Page) -> None:
    page.get_by_role("button", name="English").click()
    page.evaluate("location.hash = '#setup'")
    page.wait_for_selector("#setup-base")


SCREENS: dict[str, Callable[[Page], None]] = {
    "home": home,
    "search": suggestions,
    "topic": topic,
    "question": question,
    "urgent": urgent,
    "home-es": spanish,
    "question-es": spanish_question,
    "setup": setup,
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "clinic.db"
        env = {
            **os.environ,
            "CLINIC_DB_PATH": str(db),
            "CLINIC_CONTENT_DIR": str(ROOT / "content"),
            "CLINIC_BUILD_ON_START": "0",
            "CLINIC_RATE_LIMIT": "0",
            "CLINIC_ACCESS_LOG": "0",
        }
        subprocess.run([sys.executable, "-m", "api", "build"], cwd=ROOT, env=env, check=True)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            shoot(url + "/kiosk/")
        finally:
            server.terminate()
            server.wait(timeout=15)


def small(path: Path) -> None:
    """A palette PNG where pngquant is installed (`apt-get install pngquant`): a quarter of
    the size, and the screens have few colours anyway."""
    pngquant = shutil.which("pngquant")
    if pngquant:
        subprocess.run(
            [pngquant, "--force", "--skip-if-larger", "--output", str(path), "64", str(path)],
            check=False,
        )


def shoot(url: str) -> None:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for form, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector(".topic")
            page.wait_for_selector("#status:has-text('Content as of')")
            for name, go in SCREENS.items():
                go(page)
                # The time of the copy changes with every run: the pictures should not.
                page.evaluate(
                    "document.getElementById('status').textContent ="
                    " document.documentElement.lang === 'es'"
                    " ? 'Contenido del 1 dic 2026, 9:00' : 'Content as of Dec 1, 2026, 9:00 AM'"
                )
                path = HERE / f"{name}-{form}.png"
                page.screenshot(path=str(path))
                small(path)
                print(path.relative_to(ROOT), path.stat().st_size)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
