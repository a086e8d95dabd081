"""One frozen settings object, read from the environment (every variable is in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
        )
