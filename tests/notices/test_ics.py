"""The RFC 5545 writer and the calendar feed, read back with the icalendar library."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core import ics
from nodedesk.core.clock import FrozenClock
from nodedesk.core.models import MaintenanceSchedule, MaintenanceWindow, ScheduleException
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, windows
from nodedesk.core.services.downtime.windows import Scope, WindowChanges, WindowDraft
from nodedesk.core.services.views import calendar_feed
from sqlalchemy import select

from tests.helpers import local

NASTY = "Back\\slash; semi, comma\nnew line\x1b[31m red\x07 \u202eevil\u202c é 🚀 " + "ü" * 60
TITLE = "Firmware; driver 550, reboot \\ é 🚀 " + "ü" * 60  # what validation lets through
STAMP = datetime(2026, 2, 15, 15, 0, tzinfo=UTC)


def _events(text: str) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(text)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def _physical_lines(text: str) -> list[bytes]:
    data = text.encode("utf-8")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    return data.split(b"\r\n")[:-1]


def test_folding_keeps_lines_short_and_utf8_whole() -> None:
    event = ics.Event("u1@nodedesk", STAMP, STAMP + timedelta(hours=1), NASTY, STAMP, description=NASTY * 3)
    text = ics.calendar([event])
    for line in _physical_lines(text):
        assert len(line) <= 75
        line.decode("utf-8")  # every physical line is valid UTF-8 on its own
    [parsed] = _events(text).values()
    expected = "Back\\slash; semi, comma new line[31m red evil é 🚀 " + "ü" * 60
    assert str(parsed["SUMMARY"]) == expected
    assert str(parsed["DESCRIPTION"]).startswith("Back\\slash; semi, comma\nnew line[31m red evil")
    assert "\x1b" not in text and "\u202e" not in text


@given(st.text(min_size=0, max_size=300))
def test_any_text_round_trips(value: str) -> None:
    event = ics.Event("p@nodedesk", STAMP, STAMP + timedelta(hours=1), value, STAMP, description=value)
    text = ics.calendar([event])
    for line in _physical_lines(text):
        assert len(line) <= 75
    [parsed] = _events(text).values()
    assert str(parsed.get("DESCRIPTION", "")) == ics.clean(value)
    assert str(parsed["SUMMARY"]) == ics.clean(value, multiline=False)


def test_calendar_header() -> None:
    cal = icalendar.Calendar.from_ical(ics.calendar([]))
    assert str(cal["VERSION"]) == "2.0" and str(cal["PRODID"]) == ics.PRODID
    assert str(cal["CALSCALE"]) == "GREGORIAN" and str(cal["METHOD"]) == "PUBLISH"


def _feed(runtime: Runtime, **kw: object) -> calendar_feed.Feed:
    with runtime.read() as ctx:
        return calendar_feed.build_feed(ctx, **kw)  # type: ignore[arg-type]


def test_window_uid_is_stable_and_sequence_follows_edits(runtime: Runtime, clock: FrozenClock) -> None:
    with runtime.write() as ctx:
        w = windows.create_window(
            ctx, WindowDraft(TITLE, local("2026-02-21 06:00"), local("2026-02-21 18:00"), TITLE + "\nline 2")
        ).window
    first = _events(_feed(runtime).text)
    uid = f"{w.uuid}@nodedesk"
    event = first[uid]
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].dt == local("2026-02-21 06:00") and event["DTEND"].dt == local("2026-02-21 18:00")
    assert event["DTSTAMP"].dt == clock.now()
    assert str(event["LOCATION"]) == "all nodes"
    assert str(event["SUMMARY"]) == f"Maintenance: {TITLE}"
    assert str(event["DESCRIPTION"]) == TITLE + "\nline 2"
    clock.set(clock.now() + timedelta(hours=1))
    with runtime.write() as ctx:
        windows.update_window(ctx, w.id, WindowChanges(end=local("2026-02-21 20:00")))
    again = _events(_feed(runtime).text)
    assert list(again) == [uid]
    assert int(again[uid]["SEQUENCE"]) == 1
    assert again[uid]["DTEND"].dt == local("2026-02-21 20:00")
    assert again[uid]["DTSTAMP"].dt == clock.now()


def _schedule_rows(runtime: Runtime) -> tuple[str, datetime, datetime]:
    """A schedule with two materialised occurrences, the second one skipped (its window gone)."""
    occ1, occ2 = local("2026-02-17 06:00"), local("2026-03-17 06:00")
    with runtime.write() as ctx:
        now = ctx.now()
        s = MaintenanceSchedule(
            title="Patch Tuesday",
            description="Monthly patches",
            rrule="FREQ=MONTHLY;BYDAY=TU;BYSETPOS=3",
            timezone="America/New_York",
            first_date=date(2026, 2, 17),
            start_time="06:00",
            duration_minutes=720,
            all_nodes=True,
            created_at=now,
            created_by="admin",
            modified_at=now,
            modified_by="admin",
        )
        ctx.session.add(s)
        ctx.session.flush()
        ctx.session.add(
            MaintenanceWindow(
                title="Patch Tuesday",
                description="Monthly patches",
                start=occ1,
                end=occ1 + timedelta(hours=12),
                all_nodes=True,
                schedule_id=s.id,
                occurrence_start=occ1,
                created_at=now,
                created_by="admin",
                modified_at=now,
                modified_by="admin",
            )
        )
        ctx.session.add(
            ScheduleException(
                schedule_id=s.id,
                occurrence_start=occ2,
                kind="skip",
                reason="holiday freeze",
                created_at=now,
                created_by="admin",
            )
        )
        return s.uuid, occ1, occ2


def test_skipped_occurrence_is_cancelled_with_the_same_uid(runtime: Runtime) -> None:
    schedule_uuid, occ1, occ2 = _schedule_rows(runtime)
    feed = _feed(runtime)
    events = _events(feed.text)
    uid1 = f"schedule-{schedule_uuid}-20260217T110000Z@nodedesk"
    uid2 = f"schedule-{schedule_uuid}-20260317T100000Z@nodedesk"  # EDT on March 17
    assert set(events) == {uid1, uid2}
    assert str(events[uid1]["STATUS"]) == "CONFIRMED"
    assert str(events[uid2]["STATUS"]) == "CANCELLED"
    assert events[uid2]["DTSTART"].dt == occ2 and events[uid2]["DTEND"].dt == occ2 + timedelta(hours=12)
    assert int(events[uid2]["SEQUENCE"]) >= 1
    assert "holiday freeze" in str(events[uid2]["DESCRIPTION"])
    assert (feed.windows, feed.cancelled) == (1, 1)
    # A skip whose window still exists: exported once, cancelled, with the same UID.
    with runtime.write() as ctx:
        exc = ctx.session.scalars(select(ScheduleException)).one()
        exc.occurrence_start = occ1
    events = _events(_feed(runtime).text)
    assert list(events) == [uid1] and str(events[uid1]["STATUS"]) == "CANCELLED"


def test_range_node_filter_and_outages(runtime: Runtime, clock: FrozenClock) -> None:
    from nodedesk.core.services.nodes import inventory

    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "n1", "A100")
        inventory.add_node(ctx, "n2", "A100")
        on_n2 = windows.create_window(
            ctx,
            WindowDraft(
                "n2 only", local("2026-02-20 06:00"), local("2026-02-20 08:00"), scope=Scope(("n2",))
            ),
        ).window
        far = windows.create_window(
            ctx, WindowDraft("Far", local("2026-08-01 06:00"), local("2026-08-01 08:00"))
        ).window
        o = outages.create_outage(
            ctx, outages.OutageDraft("PSU", ("n1",), local("2026-02-15 09:00"), etr=local("2026-02-15 13:00"))
        ).outage
    plain = _events(_feed(runtime).text)
    assert set(plain) == {f"{on_n2.uuid}@nodedesk", f"{far.uuid}@nodedesk"}
    assert set(_events(_feed(runtime, nodes=("n1",)).text)) == {f"{far.uuid}@nodedesk"}
    short = _feed(runtime, first=date(2026, 2, 1), last=date(2026, 2, 28), include_outages=True)
    events = _events(short.text)
    assert set(events) == {f"{on_n2.uuid}@nodedesk", f"outage-{o.uuid}@nodedesk"}
    outage = events[f"outage-{o.uuid}@nodedesk"]
    assert outage["DTEND"].dt == local("2026-02-15 13:00")  # open: drawn up to its ETR
    assert str(outage["LOCATION"]) == "n1" and "open" in str(outage["SUMMARY"])
    assert short.outages == 1


def test_default_range_and_atomic_write(runtime: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with runtime.read() as ctx:
        assert calendar_feed.default_range(ctx) == (date(2026, 1, 16), date(2027, 2, 15))
    out = tmp_path / "out"
    out.mkdir()
    target = out / "feed.ics"
    target.write_text("old")
    calendar_feed.write_atomically(target, ics.calendar([]))
    assert target.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert [p.name for p in out.iterdir()] == ["feed.ics"]  # no temporary file left behind
