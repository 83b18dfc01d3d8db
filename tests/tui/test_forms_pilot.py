"""Pilot tests of the edit forms' one source of rules: the service's ``check_*``.

The form only reads what is typed; whatever the service's check says is what the form marks,
so a rule changed in core changes the form, and a bad stored setting is a one-line refusal.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from nodedesk.core import validate
from nodedesk.core.errors import ValidationError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.models import ActivityEntry, Reservation, Setting
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.reservations.reservation_form import ReservationFormScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.tui.conftest import Seeded, settle
from tests.tui.rentals_seed import seed_rentals


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")


def text(app: NodedeskApp, selector: str) -> str:
    box = app.screen.query_one(selector, Static)
    return str(box.render()) if box.display else ""


def entries(runtime: Runtime) -> int:
    with runtime.read() as ctx:
        return ctx.session.scalar(select(func.count()).select_from(ActivityEntry)) or 0


async def new_window(pilot: Pilot) -> WindowFormScreen:
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, WindowFormScreen)
    return form


async def typed(pilot: Pilot, selector: str, value: str) -> None:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = value
    await settle(pilot)


async def test_window_form_marks_the_field_the_service_names(
    app: NodedeskApp, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever field the service's check names is the one marked, with its message."""
    asked: list[svc.WindowDraft] = []

    def check(ctx, draft, **kw):  # type: ignore[no-untyped-def]
        asked.append(draft)
        error = ValidationError("is not allowed on Fridays (site rule)", field="description")
        return [FieldProblem.of(error)]

    monkeypatch.setattr(svc, "check_window", check)
    async with app.run_test(size=(100, 30)) as pilot:
        await new_window(pilot)
        await typed(pilot, "#title", "BIOS rollout")
        assert text(app, "#description-error") == ""  # untouched: quiet while typing
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        assert text(app, "#description-error") == "is not allowed on Fridays (site rule)"
        assert text(app, "#title-error") == ""
        assert "fix the marked field" in text(app, "#form-error")
        assert app.screen.focused is app.screen.query_one("#description")
        assert asked and asked[-1].title == "BIOS rollout"


async def test_a_rule_changed_in_core_changes_what_the_form_says(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No copy of a rule in the form: change core's span rule or title validator and the form
    follows, both as you type and on save."""
    real_title = validate.title

    def at_least_an_hour(start, end):  # type: ignore[no-untyped-def]
        if end - start < timedelta(hours=1):
            raise ValidationError("must be at least an hour after the start", field="end")

    def stricter(value, field="title"):  # type: ignore[no-untyped-def]
        cleaned = real_title(value, field)
        if "#" not in cleaned:
            raise ValidationError("must name a ticket (#...)", field=field)
        return cleaned

    monkeypatch.setattr(svc, "_check_span", at_least_an_hour)
    monkeypatch.setattr(validate, "title", stricter)
    before = entries(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await new_window(pilot)
        await typed(pilot, "#title", "BIOS rollout")
        assert text(app, "#title-error") == "must name a ticket (#...)"
        await typed(pilot, "#start", "2026-02-20 08:00")
        await typed(pilot, "#end", "2026-02-20 08:30")  # fine for the shipped rule
        assert text(app, "#end-error") == "must be at least an hour after the start"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "fix the marked fields" in text(app, "#form-error")
        await typed(pilot, "#title", "BIOS rollout #4711")
        await typed(pilot, "#end", "2026-02-20 09:00")
        assert text(app, "#title-error") == "" and text(app, "#end-error") == ""
    assert entries(runtime) == before


async def test_backdated_start_shows_the_reason_the_service_asks_for(
    app: NodedeskApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        form = await new_window(pilot)
        assert not form.query_one("#reason-row").display
        await typed(pilot, "#title", "Missed PDU swap")
        await typed(pilot, "#start", "2026-02-14 08:00")
        await typed(pilot, "#end", "2026-02-14 09:00")
        assert form.query_one("#reason-row").display
        assert "a backdated window needs a reason" in text(app, "#reason-error")


def corrupt(runtime: Runtime, key: str, value: str) -> None:
    """A stored value the settings check would refuse (a hand edit of the database)."""
    with runtime.database.write() as session:
        row = session.get(Setting, key)
        if row is None:
            session.add(
                Setting(key=key, value=value, modified_at=runtime.clock_for("UTC").now(), modified_by="x")
            )
        else:
            row.value = value


@pytest.mark.parametrize(
    ("key", "value"), [("reservation_start_time", "25:99"), ("reservation_max_blocks", "abc")]
)
async def test_bad_stored_reservation_setting_is_one_line_in_the_form(
    runtime: Runtime, key: str, value: str
) -> None:
    seed_rentals(runtime)
    corrupt(runtime, key, value)
    with runtime.read() as ctx:
        before = ctx.session.scalar(select(func.count(Reservation.id)))
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ReservationFormScreen(node="node02", project="Climate"))
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ReservationFormScreen)
        line = text(app, "#form-error")
        assert "\n" not in line and key in line and "Reservations are not available" in line
        await typed(pilot, "#start_date", "2026-03-02")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReservationFormScreen)  # still open, no exception
        saved = text(app, "#form-error")
        assert saved.startswith("Not saved: ") and key in saved and "\n" not in saved
    with runtime.read() as ctx:
        assert ctx.session.scalar(select(func.count(Reservation.id))) == before
