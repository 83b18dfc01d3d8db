"""The demo centre's reservations and outages (``nodedesk init --demo``) look alive on any day."""

from __future__ import annotations

from collections import Counter

from nodedesk.core import audit
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db.engine import Database
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages
from nodedesk.core.services.rentals import reservations
from nodedesk.core.services.site.setup import initialize

from tests.helpers import ADMIN, DEFAULT_NOW, SITE_TZ
from tests.rentals.support import overlapping_pairs


def test_demo_reservations_and_outages(database: Database, database_url: str) -> None:
    clock = FrozenClock(DEFAULT_NOW)
    result = initialize(database, ADMIN, timezone=SITE_TZ, clock=clock, demo=True)
    assert result.demo is not None
    assert result.demo["reservations"] >= 60 and result.demo["outages"] >= 5
    runtime = Runtime(Config(database_url=database_url), clock=clock, login=ADMIN, database=database)
    with runtime.read() as ctx:
        now = ctx.now()
        items = reservations.list_reservations(ctx, reservations.ReservationQuery(limit=1000)).items
        outs = outages.list_outages(ctx, outages.OutageQuery(limit=1000)).items
        open_one = next(o for o in outs if o.open)
        etr_revisions = outages.etr_history(ctx, open_one.id)
        assert audit.verify(ctx.session).ok
    statuses = Counter(v.status for v in items)
    assert set(statuses) == {"approved", "pending", "declined", "cancelled"}
    phases = Counter(v.phase(now) for v in items if v.status == "approved")
    assert phases["past"] >= 30 and phases["in_progress"] >= 3 and phases["upcoming"] >= 5
    assert min(v.start for v in items).month == 11  # about three months of history
    assert len({v.project for v in items}) == 8 and len({v.node for v in items}) >= 14
    assert any(v.downtime for v in items if v.phase(now) == "in_progress")  # the open outage
    assert overlapping_pairs(runtime) == 0
    assert [o.status for o in outs if o.open] == ["identified"]
    assert sum(1 for o in outs if not o.credit) == 1
    assert sum(1 for o in outs if o.status == "resolved") >= 4
    assert len(etr_revisions) == 2 and open_one.etr is not None and open_one.etr > now
