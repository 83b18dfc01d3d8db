"""The live calendar (``/api/v1/calendar.ics``) and the metrics for monitoring (``/metrics``)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.views import calendar_feed, monitoring
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from ..app import PREFIX, Api, ApiDep, feed_token, presented_token
from .common import optional

router = APIRouter()


@router.get(
    f"{PREFIX}/calendar.ics",
    tags=["feeds"],
    summary="The maintenance calendar (RFC 5545), as 'nodedesk calendar export' writes it",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "an iCalendar document"}},
)
def calendar(
    request: Request,
    api: ApiDep,
    token: Annotated[
        str | None, Query(description="a feed token (calendar clients cannot send headers)")
    ] = None,
    node: Annotated[list[str] | None, Query(description="only what affects this node (repeatable)")] = None,
    include_outages: bool = False,
    from_: Annotated[str | None, Query(alias="from", description="first day (default: 30 days ago)")] = None,
    to: Annotated[str | None, Query(description="last day, inclusive (default: 12 months ahead)")] = None,
) -> Response:
    feed_token(request, token, api)
    with api.read(request) as ctx:
        feed = calendar_feed.build_feed(
            ctx,
            first=timeutil.parse_date(optional(from_, "from") or "", "from") if from_ is not None else None,
            last=timeutil.parse_date(optional(to, "to") or "", "to") if to is not None else None,
            nodes=tuple(optional(n, "node") or "" for n in node or ()),
            include_outages=include_outages,
        )
    return Response(
        feed.text.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Content-Disposition": 'inline; filename="nodedesk.ics"'},
    )


# ---------------------------------------------------------------- metrics


@dataclass
class AuditWatch:
    """The last verification of the activity log in this process, renewed every ``every_s``
    seconds by the scrape that finds it old (one at a time; the others use the last result)."""

    every_s: float
    last: monitoring.AuditCheck | None = None
    taken: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, ctx: ServiceContext) -> monitoring.AuditCheck | None:
        if self._due() and self.lock.acquire(blocking=self.last is None):
            try:
                if self._due():  # not done meanwhile by the scrape this one waited for
                    self.last = monitoring.check_audit(ctx)
                    self.taken = time.monotonic()
            finally:
                self.lock.release()
        return self.last

    def _due(self) -> bool:
        return time.monotonic() - self.taken >= self.every_s


def _watch(api: Api) -> AuditWatch:
    watch = getattr(api, "audit_watch", None)
    if watch is None:
        watch = api.audit_watch = AuditWatch(api.audit_check_every_s)  # type: ignore[attr-defined]
    return watch


def exposition(ctx: ServiceContext, audit: monitoring.AuditCheck | None, started: float) -> bytes:
    f = monitoring.figures(ctx)
    reg = CollectorRegistry(auto_describe=True)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, labels, registry=reg)

    nodes = gauge("nodedesk_nodes", "Nodes by their state now", ("state",))
    for state, count in f.nodes_by_state.items():
        nodes.labels(state).set(count)
    gauge("nodedesk_windows_in_progress", "Maintenance windows in progress").set(f.windows_in_progress)
    gauge("nodedesk_windows_upcoming_24h", "Maintenance windows starting in the next 24 hours").set(
        f.windows_upcoming_24h
    )
    gauge("nodedesk_outages_open", "Outages not yet resolved").set(len(f.open_outages))
    age = gauge(
        "nodedesk_outage_open_age_seconds", "How long each open outage has been open", ("outage", "status")
    )
    overdue = gauge(
        "nodedesk_outage_etr_overdue_seconds", "How far each open outage is past its ETR", ("outage",)
    )
    for o in f.open_outages:
        age.labels(str(o.id), o.status).set(o.age.total_seconds())
        if o.etr_overdue_by is not None:
            overdue.labels(str(o.id)).set(o.etr_overdue_by.total_seconds())
    gauge("nodedesk_outages_etr_overdue", "Open outages past their ETR").set(f.etr_overdue)
    gauge(
        "nodedesk_reservations_at_risk",
        "Reservations starting in the next 7 days that downtime overlaps (the dashboard's panel)",
    ).set(f.reservations_at_risk)
    notices = gauge("nodedesk_notices", "Notices to renters by delivery status", ("status",))
    for status, count in f.notices_by_status.items():
        notices.labels(status).set(count)
    if f.last_finalized_month_end is not None and f.last_finalized_period is not None:
        gauge(
            "nodedesk_invoice_last_finalized_month_end_timestamp_seconds",
            "End of the last finalized invoice month (Unix time)",
            ("period",),
        ).labels(f.last_finalized_period).set(f.last_finalized_month_end.timestamp())
    if audit is not None:
        gauge("nodedesk_audit_chain_ok", "1 when the activity log verified at its last check").set(
            1 if audit.ok else 0
        )
        gauge("nodedesk_audit_entries_verified", "Entries the last check verified").set(audit.checked)
        gauge(
            "nodedesk_audit_verification_age_seconds", "Seconds since the activity log was last verified"
        ).set(max((f.now - audit.at) / timedelta(seconds=1), 0.0))
    gauge("nodedesk_metrics_read_seconds", "Time taken to read these figures").set(
        time.perf_counter() - started
    )
    return generate_latest(reg)


@router.get(
    "/metrics",
    tags=["feeds"],
    summary="The centre's state for Prometheus (text exposition format)",
    dependencies=[Depends(presented_token)],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition"}},
)
def metrics(request: Request, api: ApiDep) -> Response:
    started = time.perf_counter()
    with api.read(request) as ctx:
        audit = _watch(api).current(ctx)
        body = exposition(ctx, audit, started)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
