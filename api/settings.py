"""One frozen settings object, read from the environment (every variable is in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from api.review import CHANNELS, DEFAULT_DUE_DAYS, DEFAULT_SERVE_OVERDUE, ReviewPolicy

ENV_PREFIX = "CLINIC_"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    content_dir: Path = Path("content")
    db_path: Path = Path("var/clinic.db")
    base_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    build_on_start: bool = True
    #: Days before next_review_due during which an item is `due` rather than `current`.
    review_due_days: int = DEFAULT_DUE_DAYS
    #: Channels that are still served items whose review is overdue (see api/review.py).
    serve_overdue: frozenset[str] = DEFAULT_SERVE_OVERDUE

    @property
    def review_policy(self) -> ReviewPolicy:
        return ReviewPolicy(due_days=self.review_due_days, serve_overdue=self.serve_overdue)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        return cls(
            content_dir=Path(env.get("CLINIC_CONTENT_DIR", "content")),
            db_path=Path(env.get("CLINIC_DB_PATH", "var/clinic.db")),
            base_url=env.get("CLINIC_BASE_URL") or None,
            cors_origins=_split(env.get("CLINIC_CORS_ORIGINS", "")),
            host=env.get("CLINIC_HOST", "127.0.0.1"),
            port=int(env.get("CLINIC_PORT", "8000")),
            build_on_start=env.get("CLINIC_BUILD_ON_START", "1") not in ("0", "false", "no"),
            review_due_days=_due_days(env.get("CLINIC_REVIEW_DUE_DAYS")),
            serve_overdue=_channels(env.get("CLINIC_SERVE_OVERDUE")),
        )


def _due_days(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_DUE_DAYS
    days = int(value)
    if not 0 <= days <= 3650:
        raise ValueError(f"CLINIC_REVIEW_DUE_DAYS must be 0 to 3650, not {days}")
    return days


def _channels(value: str | None) -> frozenset[str]:
    if value is None:
        return DEFAULT_SERVE_OVERDUE
    if value.strip().lower() == "none":
        return frozenset()
    names = frozenset(_split(value))
    unknown = sorted(names - set(CHANNELS))
    if unknown:
        raise ValueError(
            f"CLINIC_SERVE_OVERDUE: unknown channel(s) {', '.join(unknown)};"
            f" known: {', '.join(CHANNELS)}"
        )
    return names
