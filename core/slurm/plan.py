"""The sync planner: pure functions from nodedesk's state and Slurm's to what should change
(help/slurm.md). No database, no subprocess: core/slurm/sync.py gathers the inputs and applies
the plan; tests/slurm/test_plan.py checks the rules one by one.

Push (windows -> reservations):
- every upcoming or in-progress window with at least one Slurm node in scope wants one
  reservation ``nodedesk-<window uuid>``, ``Flags=MAINT,IGNORE_JOBS``, on its nodes;
- missing: create (an in-progress window's reservation starts ``now``: Slurm refuses a start in
  the past); different start, end, nodes or no MAINT flag: update (a reservation that already
  started cannot move its start: deleted and created again); a ``nodedesk-`` reservation no
  window wants (deleted, over, or no Slurm node left): delete;
- reservations with other names are never touched;
- a reservation that differs from what the last sync left in Slurm was changed there by hand:
  the change is reported as drift, and nodedesk's window wins.

Pull (node states -> outages):
- a node DOWN, DRAIN(ING/ED) or FAIL(ING) with a reason gets an outage (reported, started when
  Slurm set the reason, source ``slurm``) unless one is already open for it, or a maintenance
  window covers it now;
- a node back in service moves its open Slurm outage (reported, investigating, identified) to
  monitoring; an admin resolves it, since billing depends on the end;
- a node out of service again while its Slurm outage is in monitoring moves it back to
  investigating (the fix did not hold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import timeutil
from ..safetext import one_line
from . import hostlist
from .config import RESERVATION_PREFIX
from .parse import OUT_OF_SERVICE, SlurmNode, SlurmReservation, format_time

FLAGS = ("MAINT", "IGNORE_JOBS")
# How far Slurm's clock may run ahead of nodedesk's: an in-progress window's reservation made
# "now" by Slurm is not seen as starting late by a few seconds.
CLOCK_SKEW = timedelta(minutes=5)
REQUIRED_FLAG = "MAINT"  # IGNORE_JOBS only matters when a reservation is created


def reservation_name(window_uuid: str) -> str:
    return f"{RESERVATION_PREFIX}{window_uuid}"


@dataclass(frozen=True)
class WantedReservation:
    """What Slurm should hold for one window."""

    window_id: int
    window_uuid: str
    title: str
    start: datetime
    end: datetime
    nodes: tuple[str, ...]  # Slurm node names, sorted
    in_progress: bool

    @property
    def name(self) -> str:
        return reservation_name(self.window_uuid)

    @property
    def host_list(self) -> str:
        return hostlist.compress(self.nodes)


@dataclass(frozen=True)
class Note:
    """Something the sync saw and did not change (or could not)."""

    kind: str
    subject: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "text": self.text}


@dataclass(frozen=True)
class PushAction:
    kind: str  # create | update | delete
    name: str
    window_id: int | None
    window_uuid: str
    title: str
    args: tuple[str, ...]  # scontrol's arguments
    changes: tuple[str, ...] = ()  # what differs, for people
    hand_changed: bool = False  # Slurm's copy differs from what the last sync left there

    @property
    def subject(self) -> str:
        return f"window #{self.window_id}" if self.window_id is not None else self.name

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.kind,
            "reservation": self.name,
            "window": self.window_id,
            "window_uuid": self.window_uuid,
            "title": self.title,
            "changes": list(self.changes),
            "changed_in_slurm": self.hand_changed,
            "command": "scontrol " + " ".join(self.args),
        }


@dataclass(frozen=True)
class PushPlan:
    actions: tuple[PushAction, ...]
    notes: tuple[Note, ...]


def _when(instant: datetime, tz: str) -> str:
    return timeutil.format_local(instant, tz)


def differences(
    wanted: WantedReservation, actual: SlurmReservation, now: datetime, tz: str = "UTC"
) -> list[tuple[str, str, str]]:
    """(field, Slurm's value, nodedesk's value) for every field where ``actual`` is not what
    ``wanted`` asks for. An in-progress window's reservation may start later than the window
    (it was made when the window had begun), as long as it has started."""
    found: list[tuple[str, str, str]] = []
    if wanted.in_progress:
        if actual.start > now + CLOCK_SKEW and actual.state != "ACTIVE":
            found.append(("start", _when(actual.start, tz), "now"))
    elif actual.start != wanted.start:
        found.append(("start", _when(actual.start, tz), _when(wanted.start, tz)))
    if actual.end != wanted.end:
        found.append(("end", _when(actual.end, tz), _when(wanted.end, tz)))
    if set(actual.nodes) != set(wanted.nodes):
        found.append(("nodes", actual.host_list or "(none)", wanted.host_list))
    if REQUIRED_FLAG not in actual.flags:
        found.append(("flags", ",".join(sorted(actual.flags)) or "(none)", ",".join(FLAGS)))
    return found


def _same_in_slurm(a: SlurmReservation, b: SlurmReservation) -> bool:
    return (a.start, a.end, set(a.nodes), REQUIRED_FLAG in a.flags) == (
        b.start,
        b.end,
        set(b.nodes),
        REQUIRED_FLAG in b.flags,
    )


def _create(w: WantedReservation, user: str) -> PushAction:
    start = "now" if w.in_progress else format_time(w.start)
    args = (
        "create",
        "reservation",
        f"ReservationName={w.name}",
        f"StartTime={start}",
        f"EndTime={format_time(w.end)}",
        f"Nodes={w.host_list}",
        f"Flags={','.join(FLAGS)}",
        f"Users={user}",
    )
    return PushAction("create", w.name, w.window_id, w.window_uuid, w.title, args)


def _delete(
    name: str, window_id: int | None, uuid: str, title: str, why: str, hand: bool = False
) -> PushAction:
    return PushAction(
        "delete", name, window_id, uuid, title, ("delete", f"ReservationName={name}"), (why,), hand
    )


def slurm_nodes_of(
    wanted: Iterable[WantedReservation], known: frozenset[str] | None
) -> tuple[list[WantedReservation], list[Note]]:
    """Leave out the nodes Slurm does not know (``known`` None: not checked), and the windows
    left with no node at all."""
    kept: list[WantedReservation] = []
    notes: list[Note] = []
    split: dict[tuple[str, ...], tuple[tuple[str, ...], list[str]]] = {}  # windows share scopes
    for w in wanted:
        nodes = w.nodes
        unknown: list[str] = []
        if known is not None:
            if nodes not in split:
                split[nodes] = (tuple(n for n in nodes if n in known), [n for n in nodes if n not in known])
            nodes, unknown = split[nodes]
        if not nodes:
            missing = f" ({hostlist.compress(unknown)} not in Slurm)" if unknown else ""
            notes.append(
                Note("no_nodes", f"window #{w.window_id}", f"no Slurm node in its scope{missing}: not pushed")
            )
            continue
        if unknown:
            notes.append(
                Note(
                    "unknown_node",
                    f"window #{w.window_id}",
                    f"{hostlist.compress(unknown)} not in Slurm: left out of its reservation",
                )
            )
        kept.append(
            w
            if nodes == w.nodes
            else WantedReservation(w.window_id, w.window_uuid, w.title, w.start, w.end, nodes, w.in_progress)
        )
    return kept, notes


def plan_push(
    wanted: Iterable[WantedReservation],
    actual: Iterable[SlurmReservation],
    last_seen: Mapping[str, SlurmReservation],
    *,
    known_nodes: frozenset[str] | None,
    user: str,
    now: datetime,
    tz: str = "UTC",
) -> PushPlan:
    """What to create, update and delete so Slurm holds exactly the wanted reservations.

    ``last_seen``: nodedesk's reservations as the last sync left them (by name), to tell a
    reservation changed by hand in Slurm from a window changed in nodedesk."""
    want, notes = slurm_nodes_of(wanted, known_nodes)
    by_name = {w.name: w for w in want}
    ours = {r.name: r for r in actual if r.name.startswith(RESERVATION_PREFIX)}
    deletes: list[PushAction] = []
    updates: list[PushAction] = []
    creates: list[PushAction] = []
    for name in sorted(ours):
        if name not in by_name:
            uuid = name[len(RESERVATION_PREFIX) :]
            deletes.append(_delete(name, None, uuid, "", "no upcoming or in-progress window wants it"))
    for w in sorted(want, key=lambda w: (w.start, w.window_id)):
        r = ours.get(w.name)
        if r is None:
            creates.append(_create(w, user))
            if w.name in last_seen:
                notes.append(
                    Note("drift", f"window #{w.window_id}", f"{w.name} was deleted in Slurm by hand")
                )
            continue
        diff = differences(w, r, now, tz)
        if not diff:
            continue
        seen = last_seen.get(w.name)
        hand = seen is not None and not _same_in_slurm(seen, r)
        changes = tuple(f"{field} {theirs} → {ours_}" for field, theirs, ours_ in diff)
        if hand:
            notes.append(
                Note(
                    "drift",
                    f"window #{w.window_id}",
                    f"{w.name} was changed in Slurm by hand: {'; '.join(changes)}",
                )
            )
        fields = {field for field, _t, _o in diff}
        if "start" in fields and r.start <= now and not w.in_progress:
            # Slurm cannot move the start of a reservation that has begun.
            deletes.append(
                _delete(w.name, w.window_id, w.window_uuid, w.title, "recreated: its start moved", hand)
            )
            creates.append(_create(w, user))
            continue
        args = ["update", f"ReservationName={w.name}"]
        if "start" in fields:
            args.append(f"StartTime={'now' if w.in_progress else format_time(w.start)}")
        if "end" in fields:
            args.append(f"EndTime={format_time(w.end)}")
        if "nodes" in fields:
            args.append(f"Nodes={w.host_list}")
        if "flags" in fields:
            args.append(f"Flags={REQUIRED_FLAG}")
        updates.append(
            PushAction("update", w.name, w.window_id, w.window_uuid, w.title, tuple(args), changes, hand)
        )
    return PushPlan(tuple(deletes + updates + creates), tuple(notes))


# ---------------------------------------------------------------- pull


@dataclass(frozen=True)
class OpenOutage:
    id: int
    status: str
    source: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class PullAction:
    kind: str  # open | monitor | investigate
    node: str  # nodedesk's name
    slurm: SlurmNode
    outage_id: int | None  # the outage moved (None: a new one)
    start: datetime | None  # a new outage's start

    @property
    def status(self) -> str:
        return {"open": "reported", "monitor": "monitoring", "investigate": "investigating"}[self.kind]

    def title(self) -> str:
        return one_line(
            f"{self.node} {self.slurm.down_states.lower()} in Slurm: {self.slurm.reason}", max_len=200
        )

    def evidence(self, command: str, tz: str) -> str:
        """What Slurm showed, for the outage's description and the audit entry's reason."""
        s = self.slurm
        if not s.out_of_service:
            return f"'{command}' showed {s.name} back in service ({s.state_text()})"
        since = f" at {timeutil.format_local(s.reason_at, tz)}" if s.reason_at else ""
        by = f" by {s.reason_by}" if s.reason_by else ""
        return one_line(
            f"'{command}' showed {s.name} {s.state_text()}, reason {s.reason!r} set{by}{since}", max_len=600
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "action": self.kind,
            "node": self.node,
            "slurm_node": self.slurm.name,
            "outage": self.outage_id,
            "status": self.status,
            "start": timeutil.iso_local(self.start, tz) if self.start else None,
            "slurm": self.slurm.to_json(),
        }


@dataclass(frozen=True)
class PullPlan:
    actions: tuple[PullAction, ...]
    notes: tuple[Note, ...]


def plan_pull(
    slurm_nodes: Iterable[SlurmNode],
    to_nodedesk: Mapping[str, str],
    open_outages: Iterable[OpenOutage],
    in_maintenance: Mapping[str, int],
    *,
    now: datetime,
) -> PullPlan:
    """Outages to open or move for the node states Slurm reports.

    ``to_nodedesk``: Slurm node name -> nodedesk node name (nodes nodedesk knows);
    ``in_maintenance``: nodedesk node -> the id of a window covering it now."""
    by_node: dict[str, list[OpenOutage]] = {}
    for o in open_outages:
        for n in o.nodes:
            by_node.setdefault(n, []).append(o)
    actions: list[PullAction] = []
    notes: list[Note] = []
    for s in sorted(slurm_nodes, key=lambda n: n.name):
        node = to_nodedesk.get(s.name)
        down = bool(s.states & OUT_OF_SERVICE)
        if s.out_of_service:
            if node is None:
                notes.append(
                    Note("not_in_nodedesk", s.name, f"{s.down_states} in Slurm, not a nodedesk node")
                )
                continue
            if node in in_maintenance:
                notes.append(
                    Note(
                        "maintenance",
                        node,
                        f"{s.down_states} in Slurm during window #{in_maintenance[node]}: no outage",
                    )
                )
                continue
            opened = by_node.get(node, [])
            if not opened:
                start = min(s.reason_at, now) if s.reason_at else now
                actions.append(PullAction("open", node, s, None, start))
                continue
            watching = [o for o in opened if o.source == "slurm" and o.status == "monitoring"]
            if watching and all(o.status == "monitoring" for o in opened):
                actions.append(PullAction("investigate", node, s, watching[0].id, None))
            else:
                ids = ", ".join(f"#{o.id}" for o in opened)
                notes.append(
                    Note("already_open", node, f"{s.down_states} in Slurm; outage {ids} already open")
                )
        elif down:
            if node is not None and node not in in_maintenance:
                notes.append(Note("no_reason", node, f"{s.down_states} in Slurm without a reason: no outage"))
        elif node is not None:
            for o in by_node.get(node, []):
                if o.source == "slurm" and o.status in ("reported", "investigating", "identified"):
                    actions.append(PullAction("monitor", node, s, o.id, None))
    return PullPlan(tuple(actions), tuple(notes))
