"""Pilot tests of the Projects section: list, filter, detail, project form, members, cost splits
(propose with the live sum, approve, reject), refusals by role, help."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import projects, splits
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.projects.member_dialogs import AddMemberScreen, RemoveMemberScreen
from nodedesk.tui.features.projects.project_detail import ProjectDetailScreen
from nodedesk.tui.features.projects.project_form import ProjectFormScreen
from nodedesk.tui.features.projects.projects import ProjectsScreen
from nodedesk.tui.features.projects.split_decision import SplitDecisionScreen
from nodedesk.tui.features.projects.split_form import SplitFormScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from tests.helpers import runtime_as
from tests.tui.conftest import notifications as notes
from tests.tui.conftest import settle
from tests.tui.ledger_seed import Ledger, cells, footer_keys, seed_ledger, text_of, type_into


@pytest.fixture
def ledger(runtime: Runtime) -> Ledger:
    return seed_ledger(runtime)


async def open_projects(pilot: Pilot) -> PagedTable:
    await settle(pilot)
    await pilot.press("7")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProjectsScreen)
    return pilot.app.screen.query_one(PagedTable)


async def select(pilot: Pilot, table: PagedTable, title: str) -> None:
    table.move_cursor(row=cells(table, "title").index(title))
    await settle(pilot)


async def open_project(pilot: Pilot, title: str) -> ProjectDetailScreen:
    table = await open_projects(pilot)
    await select(pilot, table, title)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ProjectDetailScreen)
    return screen


# ---------------------------------------------------------------- list


async def test_list_shows_owner_status_members_split_today_and_pending(
    app: NodedeskApp, ledger: Ledger
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_projects(pilot)
        assert cells(table, "title") == ["Climate", "Genomics", "Old Study"]
        assert cells(table, "owner") == ["ann", "pi", "pi"]
        assert cells(table, "status") == ["● active", "● active", "▪ archived"]  # glyph and word
        assert cells(table, "members") == ["1", "2", "1"]
        assert cells(table, "pending") == [f"#{ledger.pending}", "", ""]
        assert cells(table, "split") == ["NIH-1 60%, NSF-2 40%", "⚠ UNALLOCATED", "⚠ UNALLOCATED"]
        assert "Projects 1–3 of 3" in text_of(app, "#list-status")
        preview = text_of(app, "#preview")
        assert f"#{ledger.climate} Climate" in preview and "owner ann" in preview
        assert f"pending #{ledger.pending} from 2026-03-01: NIH-1 100.00%" in preview
        keys = footer_keys(app)
        assert keys["a"] == "Approve" and keys["x"] == "Reject" and keys["p"] == "Propose"
        await pilot.press("j")  # Genomics: nothing pending, so nothing to approve
        await settle(pilot)
        assert "a" not in footer_keys(app)
        assert "UNALLOCATED" in text_of(app, "#preview")


async def test_filter_and_show_cycle(app: NodedeskApp, ledger: Ledger) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_projects(pilot)
        await pilot.press("slash", *"nsf")  # a cost object
        await pilot.pause(0.4)
        await settle(pilot)
        assert cells(table, "title") == ["Climate"]
        assert "filter: nsf" in text_of(app, "#list-status")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.focused is table
        await pilot.press("escape")
        await settle(pilot)
        assert len(cells(table, "title")) == 3 and not app.screen.query_one("#filter", Input).display
        for expected in (
            ["Climate", "Genomics"],
            ["Old Study"],
            ["Climate"],
            ["Climate", "Genomics", "Old Study"],
        ):
            await pilot.press("f")  # active → archived → pending split → all
            await settle(pilot)
            assert cells(table, "title") == expected
        assert "show: all" in text_of(app, "#list-status")


async def test_list_is_paged_from_sql(runtime: Runtime, ledger: Ledger) -> None:
    with runtime.write() as ctx:
        for i in range(5):
            projects.add_project(ctx, f"P{i}", "pi")
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_projects(pilot)
        table.page_size = 3
        app.screen.reload(0, "first")  # type: ignore[attr-defined]
        await settle(pilot)
        assert cells(table, "title") == ["Climate", "Genomics", "Old Study"]
        assert "1–3 of 8" in text_of(app, "#list-status")
        await pilot.press("G")
        await settle(pilot)
        assert cells(table, "title") == ["P3", "P4"] and "7–8 of 8" in text_of(app, "#list-status")
        await pilot.press("k", "k")  # up past the first row loads the previous page
        await settle(pilot)
        assert cells(table, "title") == ["P0", "P1", "P2"]


# ---------------------------------------------------------------- detail


async def test_detail_shows_members_split_history_and_subscriptions(app: NodedeskApp, ledger: Ledger) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_project(pilot, "Climate")
        summary = text_of(app, "#project-summary")
        assert "Climate" in summary and "● active" in summary and "Owner ann" in summary
        assert "Split today NIH-1 60%, NSF-2 40%" in summary
        assert f"Pending #{ledger.pending} from 2026-03-01: NIH-1 100%" in summary
        assert cells(screen.table("members"), "roles") == ["owner"]
        await pilot.press("tab")
        await settle(pilot)
        assert screen.pane == "splits" and app.screen.focused is screen.table("splits")
        history = screen.table("splits")
        assert cells(history, "from") == ["2026-03-01", "2026-01-01"]
        assert cells(history, "status") == ["… pending", "✓ approved"]
        assert "proposed by admin" in text_of(app, "#preview")
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_project(pilot, "Genomics")
        assert "UNALLOCATED" in text_of(app, "#project-summary")
        assert cells(screen.table("members"), "user") == ["pi", "ann"]
        await pilot.press("shift+tab")  # backwards: members → subscriptions
        await settle(pilot)
        assert screen.pane == "subscriptions"
        subs = screen.table("subscriptions")
        assert cells(subs, "sku") == ["MAINT_STANDARD"] and cells(subs, "status") == ["● active"]
        assert cells(subs, "to") == ["open"]


# ---------------------------------------------------------------- project form


async def test_new_project_form_validates_and_creates(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_projects(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ProjectFormScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert text_of(app, "#title-error") == "is required"
        assert "is required" in text_of(app, "#owner-error")
        assert "Not saved" in text_of(app, "#form-error")
        await type_into(pilot, "#owner", "zed")
        assert text_of(app, "#owner-error") == "no user named 'zed'"  # the service's word
        await type_into(pilot, "#owner", "pi")
        await type_into(pilot, "#title", "climate")  # taken (titles are unique ignoring case)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "already exists" in text_of(app, "#title-error")  # the service's refusal, on the field
        await type_into(pilot, "#title", "Ocean [b]Model[/b]")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        table = app.screen.query_one(PagedTable)
        assert "Ocean [b]Model[/b]" in cells(table, "title")  # user text stays inert
        assert table.current_key() is not None
        assert cells(table, "title")[table.cursor_row] == "Ocean [b]Model[/b]"  # the new one is selected
    with runtime.read() as ctx:
        assert projects.get_project(ctx, "Ocean [b]Model[/b]").owner == "pi"


async def test_edit_project_moves_the_owner(app: NodedeskApp, ledger: Ledger, runtime: Runtime) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_project(pilot, "Genomics")
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ProjectFormScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Nothing changed" in text_of(app, "#form-error")
        await type_into(pilot, "#owner", "ann")
        assert "the owner role moves from pi to ann" in str(
            app.screen.query_one("#owner-hint", Static).render()
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ProjectDetailScreen)
        assert "Owner ann" in text_of(app, "#project-summary")
    with runtime.read() as ctx:
        assert projects.get_project(ctx, "Genomics").roles_of("ann") == ("owner", "member")


# ---------------------------------------------------------------- members


async def test_add_member_checks_as_you_type(app: NodedeskApp, ledger: Ledger, runtime: Runtime) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "Genomics")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, AddMemberScreen)
        await type_into(pilot, "#user", "nobody")
        assert text_of(app, "#user-error") == "no active user named 'nobody'"
        await type_into(pilot, "#user", "ann")  # already a member
        assert text_of(app, "#user-error") == "ann already has role member here"
        await pilot.press("enter", "down", "enter")  # to the roles; member → technical_admin
        await settle(pilot)
        assert text_of(app, "#user-error") == ""
        assert "already holds member" in text_of(app, "#member-note")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert cells(screen.table("members"), "roles") == ["owner", "technical_admin, member"]
    with runtime.read() as ctx:
        assert projects.get_project(ctx, "Genomics").roles_of("ann") == ("technical_admin", "member")


async def test_remove_member_confirmed_and_refusals_shown(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "Genomics")
        assert "d" not in footer_keys(app)  # the owner is selected: nothing to remove
        await pilot.press("d")
        await settle(pilot)
        assert any("the owner role cannot be removed" in m for m in notes(app))
        await pilot.press("j")  # ann
        await settle(pilot)
        assert footer_keys(app)["d"] == "Remove"
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, RemoveMemberScreen)
        await pilot.press("ctrl+d")
        await settle(pilot)
        # ann's maintenance fee is billed to Genomics: the service refuses, the dialog says why
        assert isinstance(app.screen, RemoveMemberScreen)
        assert f"#{ledger.subscription}" in text_of(app, "#member-error")
        assert "end or move them first" in text_of(app, "#member-error")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    with runtime.read() as ctx:
        assert projects.get_project(ctx, "Genomics").roles_of("ann") == ("member",)
    with runtime.write() as ctx:
        projects.add_member(ctx, "Climate", "pi", "financial_admin")
        projects.add_member(ctx, "Climate", "pi", "technical_admin")
    app2 = create_app(runtime)
    async with app2.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "Climate")
        await pilot.press("j", "d")  # pi holds two roles: choose one, or every role (the default)
        await settle(pilot)
        assert isinstance(app2.screen, RemoveMemberScreen)
        choices = [str(c.label) for c in app2.screen.query("#roles Choice")]
        assert choices == [
            "every role (financial_admin, technical_admin)",
            "only financial_admin",
            "only technical_admin",
        ]
        assert "(●) every role" in str(app2.screen.query("#roles Choice").first().render())  # not colour only
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert app2.screen is screen
        assert cells(screen.table("members"), "user") == ["ann"]
        assert any("Took every role but owner from pi" in m for m in notes(app2))


async def test_archived_project_takes_no_members(app: NodedeskApp, ledger: Ledger) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_project(pilot, "Old Study")
        assert "n" not in footer_keys(app)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ProjectDetailScreen)
        assert any("is archived; it takes no new members" in m for m in notes(app))


# ---------------------------------------------------------------- cost splits


async def test_propose_split_live_sum_and_row_errors(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_projects(pilot)
        await pilot.press("j", "p")  # Genomics
        await settle(pilot)
        assert isinstance(app.screen, SplitFormScreen)
        assert app.screen.query_one("#effective_date", Input).value == "2026-03-01"  # 1st of next month
        assert "so far: UNALLOCATED" in str(app.screen.query_one("#effective_date-hint", Static).render())
        await type_into(pilot, "#parts", "NIH-9=60\nNSF-3=39.99")
        assert "Sum 99.99 %" in text_of(app, "#split-sum") and "0.01 short of 100.00" in text_of(
            app, "#split-sum"
        )
        await type_into(pilot, "#parts", "A=33.33, B=33.33, C=33.34")
        assert "✓ sums to 100.00" in text_of(app, "#split-sum")
        assert text_of(app, "#parts-error") == ""
        await type_into(pilot, "#parts", "A=50\na=50\nUNALLOCATED=1\nB=-5\nC=1.23456\nD")
        errors = text_of(app, "#parts-error")
        assert "a: a appears more than once" in errors
        assert "UNALLOCATED is reserved" in errors
        assert "B: must be more than 0" in errors
        assert "C: 1.23456 has more than 4 decimal places" in errors
        assert "… and 1 more" in errors  # at most four at a time
        await type_into(pilot, "#parts", "A=100\nD")
        assert text_of(app, "#parts-error") == "'D' is not CODE=PERCENT"
        await type_into(pilot, "#effective_date", "2026-02-30")
        assert "not a real calendar date" in text_of(app, "#effective_date-error")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SplitFormScreen) and "Not saved" in text_of(app, "#form-error")
        await type_into(pilot, "#effective_date", "2026-04-01")
        await type_into(pilot, "#parts", "NIH-9=70\nNSF-3=30")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        table = app.screen.query_one(PagedTable)
        assert cells(table, "pending")[1].startswith("#")
    with runtime.read() as ctx:
        pending = splits.pending_split(ctx, "Genomics")
    assert pending is not None and pending.effective_date == date(2026, 4, 1)
    assert pending.label() == "NIH-9 70.00%, NSF-3 30.00%"


async def test_proposing_replaces_the_pending_split_and_may_approve_at_once(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_project(pilot, "Climate")
        await pilot.press("p")
        await settle(pilot)
        assert f"replaces pending #{ledger.pending}" in text_of(app, "#split-pending")
        assert app.screen.query_one("#parts", TextArea).text == "NIH-1=100.00"  # starts from the pending one
        await type_into(pilot, "#parts", "NIH-1=80\nNSF-2=20")
        await pilot.click("#save-approve")
        await settle(pilot)
        assert isinstance(app.screen, ProjectDetailScreen)
        assert app.screen.pane == "splits"
        assert cells(app.screen.table("splits"), "status")[:2] == ["✓ approved", "✗ rejected"]
    with runtime.read() as ctx:
        assert splits.split_in_force(ctx, "Climate", date(2026, 3, 1)).label() == "NIH-1 80.00%, NSF-2 20.00%"  # type: ignore[union-attr]


async def test_approve_after_confirmation(app: NodedeskApp, ledger: Ledger, runtime: Runtime) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_projects(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, SplitDecisionScreen)
        assert "NIH-1" in text_of(app, "#decision-parts") and "100.00 %" in text_of(app, "#decision-parts")
        assert "Until now on 2026-03-01: NIH-1 60%, NSF-2 40%" in text_of(app, "#decision-before")
        await pilot.press("n")  # no: nothing happens
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert cells(app.screen.query_one(PagedTable), "pending")[0] == ""
        assert any("Approved split" in m for m in notes(app))
    with runtime.read() as ctx:
        assert splits.split_in_force(ctx, "Climate", date(2026, 3, 1)).id == ledger.pending  # type: ignore[union-attr]


async def test_reject_needs_a_reason(app: NodedeskApp, ledger: Ledger, runtime: Runtime) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_project(pilot, "Climate")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, SplitDecisionScreen)
        await pilot.press("enter")  # in the empty reason field
        await settle(pilot)
        assert text_of(app, "#decision-error") == "reason: is required to reject a split"
        await pilot.press(*"wrong grant")  # y and n are letters of the reason here
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProjectDetailScreen)
        assert cells(app.screen.table("splits"), "status")[0] == "✗ rejected"
        assert "Pending" not in text_of(app, "#project-summary")
    with runtime.read() as ctx:
        history = splits.split_history(ctx, "Climate")
    assert history[0].status == "rejected" and history[0].decision_reason == "wrong grant"


async def test_a_decision_on_a_replaced_version_is_refused_in_the_dialog(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_projects(pilot)
        await pilot.press("a")
        await settle(pilot)
        with runtime.write() as ctx:  # someone else proposes meanwhile: ours is superseded
            splits.propose_split(ctx, "Climate", [("NIH-1", "90"), ("X", "10")], date(2026, 3, 1))
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, SplitDecisionScreen)
        assert f"#{ledger.pending} is rejected, not pending" in text_of(app, "#decision-error")


# ---------------------------------------------------------------- roles


async def test_viewer_sees_no_actions_and_is_told_why(runtime: Runtime, ledger: Ledger) -> None:
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_projects(pilot)
        keys = footer_keys(app)
        assert not {"n", "e", "p", "a", "x"} & set(keys)
        assert "Press n" not in text_of(app, "#preview")
        for key, message in (
            ("n", "vic may not manage projects (needs role admin or billing_manager or rental_manager)"),
            ("p", "vic may not propose cost splits"),
            ("a", "vic may not approve cost splits (needs role admin or billing_manager)"),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, ProjectsScreen)
            assert any(message in m for m in notes(app)), key


async def test_rental_manager_proposes_but_may_not_approve(runtime: Runtime, ledger: Ledger) -> None:
    app = create_app(runtime_as(runtime, "rmgr"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_projects(pilot)
        keys = footer_keys(app)
        assert keys["p"] == "Propose" and "a" not in keys and "x" not in keys
        await pilot.press("x")
        await settle(pilot)
        assert any("rmgr may not approve cost splits" in m for m in notes(app))
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, SplitFormScreen)
        assert not app.screen.query("#save-approve")  # no "propose and approve" for them


async def test_readonly_session_offers_nothing(runtime: Runtime, ledger: Ledger) -> None:
    app = create_app(runtime, readonly=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_project(pilot, "Climate")
        assert not {"n", "d", "e", "p", "a", "x"} & set(footer_keys(app))
        await pilot.press("a")
        await settle(pilot)
        assert any("--readonly" in m for m in notes(app))


# ---------------------------------------------------------------- help


async def test_help_shows_the_projects_topic_and_live_keys(app: NodedeskApp, ledger: Ledger) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_projects(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.topic == "projects"
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Propose a cost split" in keys and "Approve the pending split" in keys
        assert "Filter: title, description, owner, member, cost object" in keys
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Give a user a project role" in keys and "Next list" in keys
