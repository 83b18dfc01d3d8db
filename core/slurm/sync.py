"""``nodedesk slurm sync``: one sync between nodedesk and Slurm (help/slurm.md).

1. Permission: pushing changes Slurm for windows (``manage_windows``), pulling opens and moves
   outages (``manage_outages``); a dry run only reads (``read``).
2. The lock (core/slurm/lock.py), except for a dry run.
3. Slurm is read: ``scontrol ping`` (a stopped controller is one line and nothing changes), the
   reservations, the node states. nodedesk's side is read in one unit of work, and the planner
   (core/slurm/plan.py) says what to change. A dry run stops here and returns the plan.
4. Push: each ``scontrol`` change runs; one refused is reported and the others go on; a
   controller that stops answering ends the push.
5. One write unit of work: an activity entry for each change made in Slurm (``slurm.*``, its
   reason naming the command), the pull planned again on the data as it is now and applied
   through the outages service (its rules and its audit: each entry's reason says the sync did
   it and what Slurm showed), the copy of nodedesk's reservations as Slurm now has them, and the
   run's report.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete

from .. import timeutil
from ..context import ServiceContext
from ..errors import NodedeskError, ValidationError
from ..models import SlurmSyncRun
from ..services.downtime import outages
from . import hostlist, plan, state
from .client import SlurmClient, SlurmError, SlurmUnreachable
from .config import RESERVATION_PREFIX, SlurmConfig
from .lock import SyncLock
from .parse import SlurmNode, SlurmReservation

if TYPE_CHECKING:
    from ..runtime import Runtime

SCOPES = ("both", "push", "pull")
PUSH_ACTIONS = {
    "create": "slurm.reservation_created",
    "update": "slurm.reservation_updated",
    "delete": "slurm.reservation_deleted",
}


@dataclass(frozen=True)
class Outcome:
    """One planned change and what became of it (``done`` False and no error: a dry run)."""

    action: plan.PushAction | plan.PullAction
    done: bool = False
    error: str = ""
    outage_id: int | None = None

    def to_json(self, tz: str) -> dict[str, object]:
        a = self.action
        doc = a.to_json() if isinstance(a, plan.PushAction) else a.to_json(tz)
        return {
            **doc,
            "outage": self.outage_id if self.outage_id is not None else doc.get("outage"),
            "done": self.done,
            "error": self.error or None,
        }


@dataclass(frozen=True)
class SyncReport:
    scope: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime
    controller: str  # scontrol ping's answer
    commands: tuple[str, ...]  # what was read
    push: tuple[Outcome, ...] = ()
    pull: tuple[Outcome, ...] = ()
    notes: tuple[plan.Note, ...] = ()
    problems: tuple[str, ...] = ()  # failures outside a single change (a read after the push)
    slurm_nodes: str = ""  # the nodes Slurm has, as a host list

    @property
    def changes(self) -> int:
        return sum(o.done for o in (*self.push, *self.pull))

    @property
    def failures(self) -> int:
        return sum(bool(o.error) for o in (*self.push, *self.pull)) + len(self.problems)

    @property
    def drift(self) -> tuple[plan.Note, ...]:
        return tuple(n for n in self.notes if n.kind == "drift")

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "scope": self.scope,
            "dry_run": self.dry_run,
            "started_at": timeutil.iso_local(self.started_at, tz),
            "finished_at": timeutil.iso_local(self.finished_at, tz),
            "controller": self.controller,
            "read": list(self.commands),
            "push": [o.to_json(tz) for o in self.push],
            "pull": [o.to_json(tz) for o in self.pull],
            "notes": [n.to_json() for n in self.notes],
            "drift": [n.to_json() for n in self.drift],
            "problems": list(self.problems),
            "changes": self.changes,
            "failures": self.failures,
            "slurm_nodes": self.slurm_nodes,
        }


def _require(ctx: ServiceContext, scope: str, dry_run: bool) -> None:
    if dry_run:
        ctx.require("read")
        return
    if scope in ("both", "push"):
        ctx.require("manage_windows")
    if scope in ("both", "pull"):
        ctx.require("manage_outages")


@dataclass
class _Reads:
    controller: str
    commands: list[str] = field(default_factory=list)
    reservations: list[SlurmReservation] = field(default_factory=list)
    nodes: list[SlurmNode] = field(default_factory=list)
    node_command: str = ""


def _read_slurm(client: SlurmClient, scope: str) -> _Reads:
    reads = _Reads(client.ping())
    reads.commands.append(client.line(client.config.scontrol, ["ping"]))
    if scope in ("both", "push"):
        reads.reservations, line = client.reservations()
        reads.commands.append(line)
    reads.nodes, reads.node_command = client.nodes()
    reads.commands.append(reads.node_command)
    return reads


def _push_plan(
    ctx: ServiceContext, config: SlurmConfig, side: state.NodedeskSide, reads: _Reads
) -> plan.PushPlan:
    known = frozenset(n.name for n in reads.nodes)
    return plan.plan_push(
        side.wanted,
        reads.reservations,
        state.last_seen(ctx),
        known_nodes=known,
        user=config.reservation_user,
        now=ctx.now(),
        tz=ctx.tz,
    )


def _pull_plan(ctx: ServiceContext, side: state.NodedeskSide, reads: _Reads) -> plan.PullPlan:
    return plan.plan_pull(
        reads.nodes, side.to_nodedesk, state.open_outages(ctx), side.in_maintenance, now=ctx.now()
    )


def _named(action: plan.PushAction, side: state.NodedeskSide) -> plan.PushAction:
    """A delete planned from Slurm's side names its window when nodedesk still has it."""
    if action.window_id is not None or action.window_uuid not in side.titles:
        return action
    wid, title = side.titles[action.window_uuid]
    return plan.PushAction(
        action.kind,
        action.name,
        wid,
        action.window_uuid,
        title,
        action.args,
        action.changes,
        action.hand_changed,
    )


def run_sync(
    runtime: Runtime,
    *,
    scope: str = "both",
    dry_run: bool = False,
    client: SlurmClient | None = None,
) -> SyncReport:
    """One sync (or, with ``dry_run``, its plan). Raises a one-line :class:`SlurmError` when
    Slurm cannot be read; then nothing has changed anywhere."""
    if scope not in SCOPES:
        raise ValidationError("must be push or pull (without it: both)", field="only")
    with runtime.read() as ctx:
        _require(ctx, scope, dry_run)
        config = SlurmConfig.from_site(ctx.site)
        clock = ctx.clock
        started = clock.now()
    client = client or SlurmClient(config)
    lock: AbstractContextManager[object] = nullcontext() if dry_run else SyncLock(runtime.config.site_dir)
    with lock:
        reads = _read_slurm(client, scope)
        with runtime.read() as ctx:
            side = state.nodedesk_side(ctx, config.node_map)
            push_plan = _push_plan(ctx, config, side, reads) if scope != "pull" else plan.PushPlan((), ())
            pull_plan = _pull_plan(ctx, side, reads) if scope != "push" else plan.PullPlan((), ())
        push_actions = [_named(a, side) for a in push_plan.actions]
        slurm_nodes = hostlist.compress(n.name for n in reads.nodes)
        if dry_run:
            return SyncReport(
                scope,
                True,
                started,
                clock.now(),
                reads.controller,
                tuple(reads.commands),
                tuple(Outcome(a) for a in push_actions),
                tuple(Outcome(a) for a in pull_plan.actions),
                push_plan.notes + pull_plan.notes,
                slurm_nodes=slurm_nodes,
            )
        pushed, problems, after = _apply_push(client, push_actions, reads)
        with runtime.write() as ctx:
            _require(ctx, scope, dry_run)
            for outcome in pushed:
                if outcome.done:
                    _record_push(ctx, outcome.action)  # type: ignore[arg-type]
            pulled: list[Outcome] = []
            pull_notes: tuple[plan.Note, ...] = ()
            if scope != "push":
                side = state.nodedesk_side(ctx, config.node_map)
                fresh = _pull_plan(ctx, side, reads)
                pull_notes = fresh.notes
                pulled = [_apply_pull(ctx, a, reads.node_command) for a in fresh.actions]
            if scope != "pull" and after is not None:  # a pull does not read the reservations
                state.remember(ctx, after, RESERVATION_PREFIX)
            report = SyncReport(
                scope,
                False,
                started,
                ctx.now(),
                reads.controller,
                tuple(reads.commands),
                tuple(pushed),
                tuple(pulled),
                push_plan.notes + pull_notes,
                tuple(problems),
                slurm_nodes,
            )
            _store_run(ctx, report)
        return report


def _apply_push(
    client: SlurmClient, actions: list[plan.PushAction], reads: _Reads
) -> tuple[list[Outcome], list[str], list[SlurmReservation] | None]:
    """Run the changes; then read the reservations back (None: not read, keep the old copy)."""
    done: list[Outcome] = []
    problems: list[str] = []
    stopped = ""
    for action in actions:
        if stopped:
            done.append(Outcome(action, error=f"not tried: {stopped}"))
            continue
        try:
            client.change(action.args)
            done.append(Outcome(action, done=True))
        except SlurmUnreachable as exc:
            stopped = str(exc)
            done.append(Outcome(action, error=str(exc)))
        except SlurmError as exc:
            done.append(Outcome(action, error=str(exc)))
    after: list[SlurmReservation] | None = reads.reservations
    if any(o.done for o in done):
        try:
            after, _line = client.reservations()
        except SlurmError as exc:
            problems.append(f"reading the reservations back: {exc}")
            after = None
    return done, problems, after


def _record_push(ctx: ServiceContext, action: plan.PushAction) -> None:
    line = "scontrol " + " ".join(action.args)
    ctx.record(
        PUSH_ACTIONS[action.kind],
        "window",
        action.window_id if action.window_id is not None else "",
        action.title or action.name,
        after={
            "reservation": action.name,
            "window_uuid": action.window_uuid,
            "changes": list(action.changes),
            "changed_in_slurm": action.hand_changed,
            "command": line,
        },
        reason=f"slurm sync ran: {line}",
        target_uuid=action.window_uuid,
    )


def _apply_pull(ctx: ServiceContext, action: plan.PullAction, command: str) -> Outcome:
    """Open or move one outage through the outages service (its checks first: a refusal is
    reported and the rest of the sync goes on)."""
    evidence = action.evidence(command, ctx.tz)
    reason = f"slurm sync: {evidence}"
    try:
        if action.kind == "open":
            assert action.start is not None
            draft = outages.OutageDraft(
                title=action.title(),
                nodes=(action.node,),
                start=action.start,
                description=f"Opened by the Slurm sync: {evidence}.",
                source="slurm",
            )
            problems = outages.check_outage(ctx, draft)
            if problems:
                return Outcome(action, error=str(problems[0].error))
            result = outages.create_outage(ctx, draft, reason=reason)
            return Outcome(action, done=True, outage_id=result.outage.id)
        assert action.outage_id is not None
        changes = outages.OutageChanges(status=action.status)
        problems = outages.check_outage(ctx, changes, outage_id=action.outage_id)
        if problems:
            return Outcome(action, error=str(problems[0].error))
        outages.update_outage(ctx, action.outage_id, changes, reason=reason)
        return Outcome(action, done=True, outage_id=action.outage_id)
    except NodedeskError as exc:  # pragma: no cover - the check above names every refusal
        return Outcome(action, error=str(exc))


def _store_run(ctx: ServiceContext, report: SyncReport) -> None:
    """The run's row; older runs that changed nothing and met no problem are dropped."""
    ctx.session.execute(delete(SlurmSyncRun).where(SlurmSyncRun.changes == 0, SlurmSyncRun.problems == 0))
    ctx.session.add(
        SlurmSyncRun(
            started_at=report.started_at,
            finished_at=report.finished_at,
            actor=ctx.actor.audit_name[:64],
            scope=report.scope,
            outcome="partial" if report.failures else "ok",
            changes=report.changes,
            problems=report.failures,
            summary_json=json.dumps(report.to_json("UTC"), sort_keys=True),
        )
    )
    ctx.session.flush()
