"""Process configuration from the environment (no I/O at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import deploy

ENV_DATABASE_URL = deploy.URL_FIELD
ENV_USER = "NODEDESK_USER"


def default_data_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/nodedesk``, else ``~/.local/share/nodedesk`` (home from ``pwd``)."""
    return deploy.data_dir(dict(os.environ if environ is None else environ))


def default_database_url(environ: dict[str, str] | None = None) -> str:
    return f"sqlite:///{default_data_dir(environ) / 'nodedesk.db'}"


@dataclass(frozen=True)
class Config:
    """Where the database is and who is acting, as read from the environment.

    ``shared_host`` (set by :meth:`from_env`, i.e. for the CLI and the app) turns on the rules of
    :mod:`nodedesk.core.deploy`: the URL is checked, a database other users can open is refused
    and a missing SQLite file is not created except by ``init``. A ``Config`` built directly
    (tests, tools) keeps to the URL it is given."""

    database_url: str
    user_override: str | None = None
    environ: dict[str, str] = field(default_factory=dict, repr=False)
    url_source: str = "environment"
    url_problem: str | None = None
    shared_host: bool = False
    # The site's private directory (audit key and anchor, help/audit.md); default: the data dir.
    private_dir: Path | None = None

    @property
    def site_dir(self) -> Path:
        return self.private_dir or default_data_dir(self.environ or None)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if environ is None else environ)
        choice = deploy.choose_url(env)
        return cls(
            database_url=choice.url,
            user_override=env.get(ENV_USER) or None,
            environ=env,
            url_source=choice.source,
            url_problem=choice.problem,
            shared_host=True,
        )
