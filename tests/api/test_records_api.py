"""The other resources through HTTP on the demo centre (both back ends): outages and their
workflow, nodes now, reservations, schedules, invoices with their digest, activity, the live
calendar and the metrics. Each answer is compared with what the core service (the console's
source) says."""

from __future__ import annotations

from datetime import timedelta

import icalendar
from nodedesk.core.services.downtime import schedules as schedule_svc
from nodedesk.core.services.invoicing import invoices
from nodedesk.core.services.nodes import inventory, node_status
from nodedesk.core.services.rentals import reservations
from nodedesk.core.services.views import calendar_feed, monitoring
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import ApiSite
from tests.helpers import DEFAULT_NOW

OUT = "/api/v1/outages"


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_outage_workflow(api_site: ApiSite) -> None:
    site = api_site
    h = site.headers("rental_manager")
    listed = site.get(OUT, params={"open": True}).json()
    assert [o["id"] for o in listed["items"]] == [6] and listed["total"] == 1
    six = site.get(f"{OUT}/6")
    assert six.headers["ETag"] == f'"{six.json()["version"]}"' and len(six.json()["etr_history"]) >= 2
    version = six.json()["version"]
    back = site.client.patch(
        f"{OUT}/6", headers=h | {"If-Match": f'"{version}"'}, json={"status": "reported"}
    )
    assert back.status_code == 422 and back.json()["field"] == "status"
    etr = site.client.patch(
        f"{OUT}/6", headers=h | {"If-Match": f'"{version}"'}, json={"etr": "2026-02-16 12:00"}
    )
    assert etr.status_code == 200 and etr.json()["etr"] == "2026-02-16T12:00:00-05:00"
    assert etr.headers["ETag"] == f'"{version + 1}"'
    history = site.get(f"{OUT}/6").json()["etr_history"]
    assert history[-1]["after"] == "2026-02-16T12:00:00-05:00" and history[-1]["by"] == "rmgr"
    stale = site.client.patch(f"{OUT}/6", headers=h | {"If-Match": f'"{version}"'}, json={"description": "x"})
    assert stale.status_code == 412
    future_end = site.client.patch(
        f"{OUT}/6", headers=h | {"If-Match": "*"}, json={"status": "resolved", "end": "2026-02-15 11:00"}
    )
    assert future_end.status_code == 422 and future_end.json()["field"] == "end"
    resolved = site.client.patch(
        f"{OUT}/6", headers=h | {"If-Match": "*"}, json={"status": "resolved", "end": "2026-02-15 09:30"}
    )
    assert resolved.status_code == 200 and resolved.json()["open"] is False
    assert site.get(OUT, params={"open": True}).json()["total"] == 0
    made = site.client.post(
        OUT,
        headers=h,
        json={"title": "PSU", "nodes": ["node2433"], "start": "2026-02-15 04:00", "etr": "2026-02-15 08:00"},
    )
    assert made.status_code == 201 and made.json()["etr_overdue"] is True
    assert made.headers["Location"] == f"{OUT}/{made.json()['id']}"
    cleared = site.client.patch(made.headers["Location"], headers=h | {"If-Match": "*"}, json={"etr": None})
    assert cleared.status_code == 200 and cleared.json()["etr"] is None
    bad = site.client.post(OUT, headers=h, json={"title": "PSU", "nodes": [], "start": "2026-02-15 04:00"})
    assert bad.status_code == 422 and bad.json()["field"] == "nodes"
    unknown = site.client.post(
        OUT, headers=h, json={"title": "PSU", "nodes": ["nope"], "start": "2026-02-15 04:00"}
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "node"


def test_nodes_now_as_the_console_lists_them(api_site: ApiSite) -> None:
    site = api_site
    r = site.get("/api/v1/nodes")
    assert r.status_code == 200
    with site.runtime.read() as ctx:
        statuses = {s.node: s for s in node_status.node_statuses(ctx)}
        expected = [n.to_json() | statuses[n.name].to_json(ctx.tz) for n in inventory.list_nodes(ctx)]
    assert r.json() == {"items": expected, "total": 20}
    by_name = {n["name"]: n for n in r.json()["items"]}
    assert by_name["node2434"]["status"] == "outage" and by_name["node2501"]["status"] == "maintenance"
    assert [n["name"] for n in site.get("/api/v1/nodes", params={"node_type": "H100"}).json()["items"]] == [
        "node2501", "node2502", "node2503", "node2504"
    ]  # fmt: skip
    assert site.get("/api/v1/nodes", params={"node_type": "TPU"}).status_code == 422


def test_timeline_agrees_with_the_state_now(api_site: ApiSite) -> None:
    site = api_site
    r = site.get("/api/v1/nodes/node2501/timeline", params={"from": "2026-02-15", "to": "2026-02-15"})
    assert r.status_code == 200
    doc = r.json()
    assert (doc["from"], doc["to"]) == ("2026-02-15T00:00:00-05:00", "2026-02-16T00:00:00-05:00")
    maintenance = [s for s in doc["segments"] if s["state"] == "maintenance"]
    assert maintenance[0]["subject"] == {"type": "window", "id": 5}
    assert (maintenance[0]["start"], maintenance[0]["end"]) == (
        "2026-02-15T08:00:00-05:00",
        "2026-02-15T14:00:00-05:00",
    )
    with site.runtime.read() as ctx:
        now_states = {s.node: s.state for s in node_status.node_statuses(ctx)}
    for name, state in now_states.items():
        segments = site.get(f"/api/v1/nodes/{name}/timeline").json()["segments"]
        assert segments[0]["start"] == "2026-02-15T00:00:00-05:00" and segments[-1]["end"].startswith(
            "2026-03-17"
        )
        here = [s for s in segments if s["start"] <= "2026-02-15T10:00:00-05:00" < s["end"]]
        assert len(here) == 1
        assert here[0]["state"] == state or (here[0]["state"] == "pending" and state == "free"), name
    assert site.get("/api/v1/nodes/nope/timeline").status_code == 404
    too_long = site.get("/api/v1/nodes/node2501/timeline", params={"from": "2026-01-01", "to": "2027-12-31"})
    assert too_long.status_code == 422 and too_long.json()["field"] == "to"


def test_reservations_and_schedules(api_site: ApiSite) -> None:
    site = api_site
    r = site.get("/api/v1/reservations", params={"status": "pending", "limit": 1000})
    with site.runtime.read() as ctx:
        page = reservations.list_reservations(
            ctx, reservations.ReservationQuery(status="pending", limit=1000)
        )
        expected = [v.to_json(ctx.tz) for v in page.items]
    assert r.json()["items"] == expected and r.json()["total"] == page.total > 0
    assert site.get("/api/v1/reservations", params={"project": "No such"}).status_code == 422
    with site.runtime.write() as ctx:
        schedule_svc.create_schedule(
            ctx, schedule_svc.ScheduleDraft("Patch Tuesday", "3rd Tuesday of every month", "06:00", "12h")
        )
    listed = site.get("/api/v1/schedules", params={"q": "patch"}).json()
    assert [s["title"] for s in listed["items"]] == ["Patch Tuesday"] and listed["items"][0][
        "materialised_ahead"
    ] > 0


def test_invoice_draft_and_finalized(api_site: ApiSite) -> None:
    site = api_site
    draft = site.get("/api/v1/invoices/2026-01", "billing_manager")
    assert draft.status_code == 200
    doc = draft.json()
    assert doc["status"] == "draft" and len(doc["digest"]) == 64
    with site.runtime.read() as ctx:
        assert doc == invoices.compute_invoice(ctx, "2026-01").to_json()
    with site.runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01", expected_digest=doc["digest"])
    final = site.get("/api/v1/invoices/2026-01").json()
    assert final["status"] == "finalized" and final["digest"] == doc["digest"]
    bad = site.get("/api/v1/invoices/2026-13")
    assert bad.status_code == 422 and bad.json()["field"] == "period"


def test_activity_pages(api_site: ApiSite) -> None:
    site = api_site
    first = site.get("/api/v1/activity", params={"action": "window.", "limit": 5}).json()
    assert len(first["items"]) == 5 and all(e["action"].startswith("window.") for e in first["items"])
    rest = site.get(
        "/api/v1/activity", params={"action": "window.", "limit": 5, "cursor": first["next_cursor"]}
    )
    seqs = [e["seq"] for e in first["items"] + rest.json()["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs) == first["total"]
    assert site.get("/api/v1/activity", params={"target": "window:5"}).json()["items"][0]["target_id"] == "5"


def test_live_calendar(api_site: ApiSite) -> None:
    site = api_site
    feed = site.token("cal", "viewer", "feed")
    r = site.client.get(
        "/api/v1/calendar.ics", params={"token": feed, "node": "node2501", "include_outages": True}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "text/calendar; charset=utf-8"
    with site.runtime.read() as ctx:
        expected = calendar_feed.build_feed(ctx, nodes=("node2501",), include_outages=True).text
    assert r.text == expected  # the same RFC 5545 document as 'calendar export'
    events = icalendar.Calendar.from_ical(r.content).walk("VEVENT")
    assert any("Cooling loop" in str(e["summary"]) for e in events)
    assert site.client.get("/api/v1/calendar.ics").status_code == 401
    by_header = site.client.get("/api/v1/calendar.ics", headers=site.headers("viewer"))
    assert by_header.status_code == 200
    in_url = site.client.get("/api/v1/calendar.ics", params={"token": site.tokens["viewer"]})
    assert in_url.status_code == 401 and "only a feed token" in in_url.json()["detail"]
    assert site.client.get("/api/v1/windows", headers={"Authorization": f"Bearer {feed}"}).status_code == 401
    bad = site.client.get("/api/v1/calendar.ics", params={"token": feed, "from": "2026-02-30"})
    assert bad.status_code == 422 and bad.json()["field"] == "from"


def test_metrics_are_the_services_figures(api_site: ApiSite) -> None:
    site = api_site
    h = site.headers("rental_manager")
    # an outage open past its ETR (help/api.md's alert example)
    made = site.client.post(
        OUT,
        headers=h,
        json={"title": "PSU", "nodes": ["node2433"], "start": "2026-02-15 04:00", "etr": "2026-02-15 08:00"},
    )
    r = site.get("/metrics", "viewer")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    values = metric_values(r.text)
    with site.runtime.read() as ctx:
        f = monitoring.figures(ctx)
    for state, count in f.nodes_by_state.items():
        assert values[("nodedesk_nodes", (("state", state),))] == count
    assert values[("nodedesk_windows_in_progress", ())] == f.windows_in_progress == 1
    assert values[("nodedesk_windows_upcoming_24h", ())] == f.windows_upcoming_24h
    assert values[("nodedesk_outages_open", ())] == 2
    assert values[("nodedesk_outages_etr_overdue", ())] == 1
    oid = str(made.json()["id"])
    assert values[("nodedesk_outage_etr_overdue_seconds", (("outage", oid),))] == 2 * 3600
    assert values[("nodedesk_outage_open_age_seconds", (("outage", oid), ("status", "reported")))] == 6 * 3600
    assert values[("nodedesk_reservations_at_risk", ())] == f.reservations_at_risk
    assert values[("nodedesk_notices", (("status", "pending"),))] == f.notices_by_status["pending"]
    assert values[("nodedesk_audit_chain_ok", ())] == 1
    assert values[("nodedesk_audit_verification_age_seconds", ())] == 0
    with site.runtime.write() as ctx:
        digest = invoices.compute_invoice(ctx, "2026-01").digest
        invoices.finalize(ctx, "2026-01", expected_digest=digest)
    later = metric_values(site.get("/metrics").text)
    end = [v for (name, labels), v in later.items() if name.startswith("nodedesk_invoice_last_finalized")]
    assert end == [DEFAULT_NOW.replace(day=1, hour=5).timestamp()]  # 2026-02-01 00:00 New York
    assert site.client.get("/metrics").status_code == 401
    assert timedelta(0) <= timedelta(seconds=later[("nodedesk_audit_verification_age_seconds", ())])
