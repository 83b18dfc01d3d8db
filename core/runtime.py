"""The app factory's core half: configuration → database, clock and per-unit-of-work contexts.

Nothing here runs at import time. Front ends build one :class:`Runtime` and open a
:class:`~nodedesk.core.context.ServiceContext` per unit of work with :meth:`write` or :meth:`read`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from . import changes, deploy
from . import site as site_settings
from .auditseal import AuditSeal
from .clock import ENV_NOW, Clock, clock_from_env
from .config import Config
from .context import ServiceContext
from .db import migrate
from .db.engine import Database
from .errors import NotInitializedError, PermissionDenied, ValidationError
from .headmemo import HeadMemo
from .identity import Actor, resolve_actor

if TYPE_CHECKING:
    from .services.site.api_tokens import Presented


class Runtime:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        login: str | None = None,
        database: Database | None = None,
        create: bool = False,
        require_private: bool = True,
        memo: HeadMemo | None = None,
    ) -> None:
        """``create`` lets ``init`` make a new SQLite file; ``require_private=False`` lets
        ``db status`` report an exposed database instead of refusing it (shared-host rules,
        :mod:`nodedesk.core.deploy`, apply to a configuration read from the environment)."""
        self.config = config
        if database is None and config.shared_host:
            self._check_storage(create=create, require_private=require_private)
        self.database = database or Database.from_url(config.database_url)
        self.login = login or deploy.acting_login(
            config.environ, deploy.storage_owner(config.database_url, config.url_source)
        )
        self._clock = clock
        self._clock_from_env = clock is None
        # A long-running reader (the HTTP API) keeps results while nothing changed (core/headmemo.py).
        self.memo = memo

    def _check_storage(self, *, create: bool, require_private: bool) -> None:
        config = self.config
        if config.url_problem:
            raise ValidationError(config.url_problem, field="database")
        field = deploy.URL_FIELD if config.url_source in ("environment", "default") else config.url_source
        deploy.check_url(config.database_url, field=field)
        missing = deploy.database_missing(config.database_url)
        if require_private:
            deploy.require_private(config.database_url)
        if not create and missing:
            raise NotInitializedError(
                f"no nodedesk database at {deploy.sqlite_path(config.database_url)}; "
                "run 'nodedesk init' first"
            )

    @classmethod
    def from_env(
        cls,
        *,
        clock: Clock | None = None,
        login: str | None = None,
        database: Database | None = None,
        create: bool = False,
        require_private: bool = True,
    ) -> Runtime:
        return cls(
            Config.from_env(),
            clock=clock,
            login=login,
            database=database,
            create=create,
            require_private=require_private,
        )

    def check_schema(self) -> str:
        return migrate.check_schema(self.database.engine)

    def clock_for(self, tz: str) -> Clock:
        if self._clock is None:
            self._clock = clock_from_env(tz, self.config.environ)
        return self._clock

    def actor(self, session: Session) -> Actor:
        """The acting user, with the ``NODEDESK_NOW`` rule applied."""
        actor = resolve_actor(session, self.login, self.config.user_override)
        self.check_clock(actor)
        return actor

    def check_clock(self, actor: Actor) -> None:
        """``NODEDESK_NOW`` moves time for every rule (locks, finalizing): admins only, judged by
        the real user, not the one an admin acts as (help/security.md)."""
        if not self._clock_from_env or not self.config.environ.get(ENV_NOW, "").strip():
            return
        if actor.impersonated or "admin" in actor.roles:
            return
        raise PermissionDenied(
            f"only an admin may set the clock ({actor.real_user} is not an admin); unset {ENV_NOW}",
            field=ENV_NOW,
        )

    def _context(self, session: Session, token: Presented | None = None, *, reading: bool) -> ServiceContext:
        memo = self.memo
        head = changes.head(session) if memo is not None else None
        if memo is None or head is None:
            site = site_settings.load(session)
        else:  # settings change only by audited writes: kept until the head moves
            site = memo.fetch(head, "site", datetime.now(UTC), lambda: (site_settings.load(session), None))
        clock = self.clock_for(site.site_timezone)
        if token is None:
            actor = self.actor(session)
        else:
            # A request to the HTTP API: the token's user, not the OS login (help/api.md).
            from .services.site.api_tokens import authenticate_until, hash_secret

            now = clock.now()
            if memo is None or head is None:
                actor = authenticate_until(session, token, now)[0]
            else:  # revoking a token or changing its user is audited; expiry is the instant given
                key = ("token", hash_secret(token.secret.strip()), token.calendar, token.in_url)
                actor = memo.fetch(head, key, now, lambda: authenticate_until(session, token, now))
            self.check_clock(actor)
        # Only a read keeps results: a write's data may differ from its head before it commits.
        kept = memo if reading else None
        return ServiceContext(
            session=session, actor=actor, clock=clock, site=site, seal=self.seal, memo=kept, head=head
        )

    @property
    def seal(self) -> AuditSeal:
        """The site's audit key and anchor, in its private directory (help/audit.md)."""
        return AuditSeal(self.config.site_dir)

    @contextmanager
    def write(self, *, dry_run: bool = False, token: Presented | None = None) -> Iterator[ServiceContext]:
        """One write transaction: everything in it commits together or not at all. ``token``:
        act as an API token's user instead of the OS login (core/services/api_tokens.py)."""
        with self.database.write(dry_run=dry_run) as session:
            yield self._context(session, token, reading=False)

    @contextmanager
    def read(self, *, token: Presented | None = None) -> Iterator[ServiceContext]:
        with self.database.read() as session:
            yield self._context(session, token, reading=True)

    def close(self) -> None:
        self.database.dispose()
