"""Process configuration from the environment (no I/O at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_DATABASE_URL = "NODEDESK_DATABASE_URL"
ENV_USER = "NODEDESK_USER"


def default_data_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return Path(base) / "nodedesk"


def default_database_url(environ: dict[str, str] | None = None) -> str:
    return f"sqlite:///{default_data_dir(environ) / 'nodedesk.db'}"


@dataclass(frozen=True)
class Config:
    """Where the database is and who is acting, as read from the environment."""

    database_url: str
    user_override: str | None = None
    environ: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if environ is None else environ)
        url = env.get(ENV_DATABASE_URL, "").strip() or default_database_url(env)
        return cls(database_url=url, user_override=env.get(ENV_USER) or None, environ=env)
