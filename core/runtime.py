"""The app factory's core half: configuration → database, clock and per-unit-of-work contexts.

Nothing here runs at import time. Front ends build one :class:`Runtime` and open a
:class:`~nodedesk.core.context.ServiceContext` per unit of work with :meth:`write` or :meth:`read`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import site as site_settings
from .clock import Clock, clock_from_env
from .config import Config
from .context import ServiceContext
from .db import migrate
from .db.engine import Database
from .identity import Actor, os_login, resolve_actor


class Runtime:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        login: str | None = None,
        database: Database | None = None,
    ) -> None:
        self.config = config
        self.database = database or Database.from_url(config.database_url)
        self.login = login or os_login()
        self._clock = clock

    @classmethod
    def from_env(cls, **kwargs: object) -> Runtime:
        return cls(Config.from_env(), **kwargs)  # type: ignore[arg-type]

    def check_schema(self) -> str:
        return migrate.check_schema(self.database.engine)

    def clock_for(self, tz: str) -> Clock:
        if self._clock is None:
            self._clock = clock_from_env(tz, self.config.environ)
        return self._clock

    def _context(self, session) -> ServiceContext:  # type: ignore[no-untyped-def]
        site = site_settings.load(session)
        actor: Actor = resolve_actor(session, self.login, self.config.user_override)
        return ServiceContext(
            session=session, actor=actor, clock=self.clock_for(site.site_timezone), site=site
        )

    @contextmanager
    def write(self, *, dry_run: bool = False) -> Iterator[ServiceContext]:
        """One write transaction: everything in it commits together or not at all."""
        with self.database.write(dry_run=dry_run) as session:
            yield self._context(session)

    @contextmanager
    def read(self) -> Iterator[ServiceContext]:
        with self.database.read() as session:
            yield self._context(session)

    def close(self) -> None:
        self.database.dispose()
