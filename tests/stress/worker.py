"""One admin of the concurrency stress run (importable, so spawned processes can run it).

Each process acts as its own registered user (``ops0``, ``ops1``, ...; even ones are rental and
billing managers, odd ones admins) against the same database, and loops over random operations
until its deadline: create, edit and delete maintenance windows; book, approve and cancel
reservations (also backdated approved ones inside January, which a finalized January must refuse);
finalize and unfinalize January 2026; and (admins) merge small backup imports of new approved
reservations, half of them edited to overlap a booking that exists, which the import must refuse.
Every refused save is classified and counted: a ``ConflictError`` is a conflict, a
``ValidationError``/``LockedError``/``NotFoundError`` a refusal, anything else an error (the test
fails on any error). Successful edits report the version they produced, so the test can prove that
no update was lost.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from nodedesk.core.backup import export_backup, import_backup
from nodedesk.core.backup.codec import iso_utc
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.errors import ConflictError, LockedError, NotFoundError, ValidationError
from nodedesk.core.models import MaintenanceWindow, Node, Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.invoicing import invoices, rates
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, splits
from nodedesk.core.services.rentals import reservations as rsv
from nodedesk.core.services.site import users
from sqlalchemy import select

from tests.backup.dataset import edit_kind
from tests.helpers import DEFAULT_NOW, local

NODES = ("n1", "n2", "n3")
PROJECT = "Climate"
MONTH = "2026-01"  # over at the frozen clock (2026-02-15), so it can be finalized
REFUSALS = (ValidationError, LockedError, NotFoundError)


def login(index: int) -> str:
    return f"ops{index}"


def seed(runtime: Runtime, processes: int) -> None:
    """Users, nodes, a project with a split, and an hourly rate (as ``admin``, through services)."""
    with runtime.write() as ctx:
        for i in range(processes):
            users.add_user(ctx, login(i), "admin" if i % 2 else "rental_manager,billing_manager")
        users.add_user(ctx, "pi", "viewer")
        inventory.add_node_type(ctx, "A100", "GPU")
        for name in NODES:
            inventory.add_node(ctx, name, "A100")
        projects.add_project(ctx, PROJECT, "pi")
        rates.set_rate(ctx, rates.node_sku_code("A100"), "8.00", date(2025, 1, 1))
        splits.propose_split(
            ctx, PROJECT, [("CC-100", "60"), ("CC-200", "40")], date(2025, 1, 1), approve=True
        )


@dataclass
class Tally:
    ops: Counter[str] = field(default_factory=Counter)
    conflicts: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # nothing to act on yet
    reasons: Counter[str] = field(default_factory=Counter)  # operation: message gist -> count
    errors: list[str] = field(default_factory=list)
    # (window id, version after the edit, title written) for every successful window edit
    edits: list[tuple[str, int, str]] = field(default_factory=list)  # (window uuid, version, title)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ops": dict(self.ops),
            "conflicts": dict(self.conflicts),
            "refusals": dict(self.refusals),
            "skipped": dict(self.skipped),
            "reasons": dict(self.reasons),
            "errors": self.errors,
            "edits": self.edits,
        }


def _gist(exc: Exception) -> str:
    """A refusal's message without its ids and times, so equal reasons count together."""
    return re.sub(r"#\d+|\d[\d:-]*", "N", str(exc).split(";")[0])[:90]


class Admin:
    def __init__(self, runtime: Runtime, index: int, seed_: int) -> None:
        self.rt = runtime
        self.index = index
        self.rng = random.Random(seed_)
        self.tally = Tally()
        self.counter = 0

    # ---------------------------------------------------------------- helpers

    def _pick(self, model: Any, *where: Any) -> tuple[int, int] | None:
        """(id, version) of a random row, read in its own unit of work ("opening the form")."""
        with self.rt.read() as ctx:
            rows = ctx.session.execute(select(model.id, model.version).where(*where)).all()
        return tuple(self.rng.choice(rows)) if rows else None  # type: ignore[return-value]

    def _upcoming(self) -> tuple[Any, Any]:
        start = local("2026-03-01 08:00") + timedelta(hours=self.rng.randrange(0, 24 * 90))
        return start, start + timedelta(hours=self.rng.randrange(1, 48))

    def _scope(self) -> win.Scope:
        if self.rng.random() < 0.3:
            return win.Scope()
        return win.Scope(nodes=tuple(sorted(self.rng.sample(NODES, self.rng.randint(1, 2)))))

    def _linger(self) -> None:
        """The time an admin spends in a form: makes stale saves (conflicts) actually happen."""
        time.sleep(self.rng.uniform(0, 0.02))

    # ---------------------------------------------------------------- operations

    def create_window(self) -> bool:
        start, end = self._upcoming()
        self.counter += 1
        with self.rt.write() as ctx:
            win.create_window(
                ctx, win.WindowDraft(f"{login(self.index)} w{self.counter}", start, end, scope=self._scope())
            )
        return True

    def edit_window(self) -> bool:
        picked = self._pick(MaintenanceWindow, MaintenanceWindow.start > DEFAULT_NOW)
        if picked is None:
            return False
        wid, version = picked
        self._linger()
        self.counter += 1
        title = f"{login(self.index)} edit {self.counter}"
        start, end = self._upcoming()
        with self.rt.write() as ctx:
            result = win.update_window(
                ctx, wid, win.WindowChanges(title=title, start=start, end=end), expected_version=version
            )
        # keyed by uuid: SQLite reuses the id of a deleted newest row for the next one created
        self.tally.edits.append((result.window.uuid, result.window.version, title))
        return True

    def delete_window(self) -> bool:
        picked = self._pick(MaintenanceWindow, MaintenanceWindow.start > DEFAULT_NOW)
        if picked is None:
            return False
        wid, version = picked
        self._linger()
        with self.rt.write() as ctx:
            win.delete_window(ctx, wid, expected_version=version)
        return True

    def book(self) -> bool:
        day = date(2026, 3, 1) + timedelta(days=self.rng.randrange(0, 60))
        node = self.rng.choice(NODES)
        with self.rt.write() as ctx:
            rsv.record_reservation(
                ctx, rsv.ReservationDraft(node, PROJECT, day, self.rng.randint(1, 14)), waive_policy=True
            )
        return True

    def approve(self) -> bool:
        picked = self._pick(Reservation, Reservation.status == "pending")
        if picked is None:
            return False
        rid, version = picked
        self._linger()
        with self.rt.write() as ctx:
            rsv.approve_reservation(ctx, rid, expected_version=version)
        return True

    def cancel(self) -> bool:
        picked = self._pick(Reservation, Reservation.status.in_(rsv.ACTIVE), Reservation.start > DEFAULT_NOW)
        if picked is None:
            return False
        rid, version = picked
        self._linger()
        with self.rt.write() as ctx:
            rsv.cancel_reservation(ctx, rid, reason="stress: freeing the slot", expected_version=version)
        return True

    def book_january(self) -> bool:
        """A backdated approved booking in January: refused while January is finalized."""
        day = date(2026, 1, 1) + timedelta(days=self.rng.randrange(0, 29))
        with self.rt.write() as ctx:
            rsv.record_reservation(
                ctx,
                rsv.ReservationDraft(self.rng.choice(NODES), PROJECT, day, self.rng.randint(1, 4)),
                approve=True,
                waive_policy=True,
            )
        return True

    def finalize(self) -> bool:
        with self.rt.write() as ctx:
            invoices.finalize(ctx, MONTH)
        return True

    def unfinalize(self) -> bool:
        with self.rt.write() as ctx:
            invoices.unfinalize(ctx, MONTH, f"stress: reopened by {login(self.index)}")
        return True

    def import_reservations(self) -> bool:
        """Merge an export holding one new approved reservation on a random slot (which a booking
        made meanwhile may take first) and, half the time, one that overlaps an active booking
        here: the import must refuse any overlap, whoever wrote the other reservation first."""
        if self.index % 2 == 0:
            return False  # only admins may import
        clash = None
        if self.rng.random() < 0.5:
            with self.rt.read() as ctx:
                rows = ctx.session.execute(
                    select(Reservation.node_id, Reservation.start, Reservation.end).where(
                        Reservation.status.in_(rsv.ACTIVE), Reservation.start > DEFAULT_NOW
                    )
                ).all()
                names = {n.id: n.name for n in ctx.session.scalars(select(Node))}
            if rows:
                node_id, start, end = self.rng.choice(rows)
                clash = (names[node_id], start + timedelta(hours=1), end + timedelta(hours=1))
        start = local("2026-03-01 16:00") + timedelta(days=self.rng.randrange(0, 60))
        free = (self.rng.choice(NODES), start, start + timedelta(hours=17))
        wanted = [free] + ([clash] if clash else [])
        work = tempfile.mkdtemp(prefix="nd-stress-import-")
        try:
            export = export_backup(self.rt, work, models=["reservations"], timestamp=False).directory

            def replace(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
                template = records[0]["fields"] if records else None
                out = []
                for node, s, e in wanted:
                    fields = dict(template or {})
                    fields.pop("id", None)
                    fields.update(
                        node=node,
                        project=PROJECT,
                        requested_for="pi",
                        start_at=iso_utc(s),
                        end_at=iso_utc(e),
                        blocks=2,
                        status="approved",
                        notes="stress: imported",
                        version=1,
                    )
                    out.append({"natural_key": [str(uuid.uuid4())], "fields": fields})
                return sorted(out, key=lambda r: r["natural_key"])

            if not export.joinpath("reservations.json").read_text().count('"natural_key"'):
                return False  # no template record yet: nothing to import
            edit_kind(export, "reservations", replace, recount=True)
            import_backup(self.rt, export, models=["reservations"])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return True  # the overlapped booking may have been cancelled meanwhile: the final check decides

    OPERATIONS = (
        ("window.create", "create_window", 5),
        ("window.edit", "edit_window", 6),
        ("window.delete", "delete_window", 2),
        ("reservation.book", "book", 5),
        ("reservation.approve", "approve", 4),
        ("reservation.cancel", "cancel", 1),
        ("reservation.book_january", "book_january", 2),
        ("invoice.finalize", "finalize", 2),
        ("invoice.unfinalize", "unfinalize", 1),
        ("reservation.import", "import_reservations", 2),
    )

    def step(self) -> None:
        names = [o[0] for o in self.OPERATIONS]
        weights = [o[2] for o in self.OPERATIONS]
        name = self.rng.choices(names, weights)[0]
        method = next(o[1] for o in self.OPERATIONS if o[0] == name)
        try:
            done = getattr(self, method)()
        except ConflictError as exc:
            self.tally.conflicts[name] += 1
            self.tally.reasons[f"{name}: {_gist(exc)}"] += 1
        except REFUSALS as exc:
            self.tally.refusals[name] += 1
            self.tally.reasons[f"{name}: {_gist(exc)}"] += 1
        except Exception as exc:  # counted and reported; the test fails on any
            self.tally.errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        else:
            if done:
                self.tally.ops[name] += 1
            else:
                self.tally.skipped[name] += 1

    def run(self, seconds: float) -> Tally:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.step()
        return self.tally


def process_main(
    url: str, index: int, seconds: float, barrier: Any, results: Any, site_dir: str | None = None
) -> None:
    """Entry point of one spawned admin process: its own engine, the shared frozen clock, and the
    site's private directory (its audit key) like every process of one site."""
    config = Config(database_url=url, private_dir=Path(site_dir) if site_dir else None)
    runtime = Runtime(config, clock=FrozenClock(DEFAULT_NOW), login=login(index))
    try:
        with runtime.read():
            pass  # connect and load the site before the start signal
        barrier.wait(timeout=120)
        tally = Admin(runtime, index, seed_=1000 + index).run(seconds)
        results.put((index, tally.as_dict()))
    except Exception as exc:  # the parent reports it
        results.put((index, {"crash": f"{type(exc).__name__}: {exc}"}))
    finally:
        runtime.close()
