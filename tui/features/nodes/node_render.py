"""How the Nodes screens draw a node: state cells, the availability strip and its segments, the
history lines and the last Slurm sync. Every state is a glyph and a word; emphasis is bold or a
theme variable, never a colour of its own (works with NO_COLOR)."""

from __future__ import annotations

from datetime import datetime

from nodedesk.core import timeutil
from nodedesk.core.services.nodes import availability, node_status, node_sync, node_timeline
from nodedesk.core.services.nodes import node_lifecycle as svc
from nodedesk.core.services.views import activity
from nodedesk.core.slurm import status as slurm_status
from rich.text import Text
from textual.content import Content

from ...kit import render

BUSY_STATES = ("outage", "maintenance")
LEGEND = " ".join(f"{availability.GLYPHS[k]} {k}" for k in availability.KINDS)
DAYS_A_LINE = 7
SEGMENTS = 12  # busy stretches listed under the strip


def state_text(r: svc.NodeRow) -> Text:
    """``⚒ maintenance``, ``○ free (retired)``: the glyph and the word, bold when it is down."""
    return Text(r.state_text(), style="bold" if r.state in BUSY_STATES else "", no_wrap=True)


def rentable_text(rentable: bool) -> Text:
    return Text("yes" if rentable else "no", no_wrap=True)


def slurm_line(summary: slurm_status.SyncSummary, tz: str) -> str:
    """``Slurm: last sync Feb 15 09:01 (ok) · drift: 2 · 1 node out of service`` ('' when no
    sync has run: nothing to say)."""
    last = summary.last
    if last is None:
        return ""
    parts = [f"Slurm: last sync {timeutil.format_short(last.at, tz)} ({last.outcome})"]
    parts.append(f"drift: {summary.drift_total}" if summary.drift_total else "no drift")
    if summary.nodes_out:
        parts.append(f"{len(summary.nodes_out)} node(s) out of service in Slurm")
    return render.one_line("  ·  ".join(parts))


def segment_text(s: availability.Segment, tz: str, now: datetime) -> str:
    """``● Dec 08 17:38 → Dec 09 07:00  rented by Genomics (reservation #50)``."""
    what = s.kind
    if s.subject_type == "reservation":
        what = f"{s.kind} by {s.label} (reservation #{s.subject_id})"
    elif s.subject_type is not None:
        what = f"{s.kind}: {s.subject_type} #{s.subject_id} {s.label!r}"
    start = render.when(s.start, tz, compact=True, now=now)
    end = render.when(s.end, tz, compact=True, now=now)
    return render.one_line(f"{availability.GLYPHS[s.kind]} {start} → {end}  {what}")


def timeline_lines(t: node_timeline.Timeline, tz: str, now: datetime) -> list[Content]:
    """One glyph a day, a week a line (``Mon 12-07  ○  ○  ●  ●* ⚒  ○  ○``), then each busy
    stretch in words, for the coming weeks."""
    pieces = [s.piece for s in t.segments]
    bounds = availability.buckets(t.start, t.end, tz, "day")
    cells = availability.cells(pieces, bounds)
    last_day = timeutil.to_local(t.end, tz).subtract(minutes=1)
    lines = [
        Content.assemble(
            ("Availability ", "bold"),
            f"{timeutil.to_local(t.start, tz).format('MMM D')} → {last_day.format('MMM D')}, a glyph a day",
        )
    ]
    for week in range(0, len(cells), DAYS_A_LINE):
        day = timeutil.to_local(bounds[week], tz)
        glyphs = " ".join(c.glyph + ("*" if c.mixed else " ") for c in cells[week : week + DAYS_A_LINE])
        lines.append(Content(f"  {day.format('ddd MM-DD')}  {glyphs.rstrip()}"))
    lines.append(Content.styled(f"  {LEGEND}  * mixed", "dim"))
    busy = [s for s in pieces if s.busy]
    lines += [Content("  " + segment_text(s, tz, now)) for s in busy[:SEGMENTS]]
    if len(busy) > SEGMENTS:
        lines.append(Content.styled(f"  … and {len(busy) - SEGMENTS} more", "dim"))
    if not busy:
        lines.append(Content("  free the whole time: nothing booked, no downtime"))
    return lines


def history_lines(entries: tuple[activity.ActivityView, ...], tz: str) -> list[Content]:
    lines = [Content.styled("History (newest first)", "bold")]
    for e in entries:
        reason = f"  “{render.one_line(e.reason, max_len=60)}”" if e.reason else ""
        lines.append(
            Content(
                f"  #{e.seq} {timeutil.format_short(e.occurred_at, tz)} "
                + render.one_line(f"{e.actor_label} {e.action}{reason}")
            )
        )
    if not entries:
        lines.append(Content.styled("  (none)", "dim"))
    return lines


def slurm_lines(sync: node_sync.NodeSync | None, tz: str) -> list[Content]:
    """The node at the last Slurm sync; nothing while no sync has run."""
    if sync is None:
        return []
    last = sync.last
    lines = [
        Content.assemble(
            ("Slurm ", "bold"),
            f"last sync {timeutil.format_short(last.at, tz)} by {render.one_line(last.by)} ({last.outcome})",
        )
    ]
    if sync.out_of_service:
        lines.append(
            Content.assemble(("  ✖ out of service in Slurm: ", "bold"), render.one_line(sync.out_of_service))
        )
    else:
        lines.append(Content("  ○ in service in Slurm at that sync"))
    for d in sync.drift:
        lines.append(Content.assemble(("  ≠ drift: ", "bold"), render.one_line(d.text(), max_len=200)))
    if not sync.drift:
        lines.append(Content("  = no drift: Slurm had every window on this node as it is"))
    return lines


def fact_lines(r: svc.NodeRow, d: svc.NodeDetail, tz: str) -> list[Content]:
    node = r.node
    width = 12

    def row(label: str, value: str | Content) -> Content:
        return Content.assemble((label.ljust(width), "bold"), value)

    state = f"{node_status.STATE_GLYPHS[r.state]} {r.status.now.label()}"
    lines = [
        Content.assemble(
            (render.one_line(r.name), "bold $accent"),
            f"  {render.one_line(node.node_type)} · {node.category}",
        ),
        row("State now", render.one_line(state)),
        row("Since", r.status.since_text(tz)),
        row("Next", render.one_line(r.next_text(tz))),
        row("Rentable", "yes" if node.rentable else "no"),
        row("Retired", timeutil.format_local(node.retired_at, tz) if node.retired_at else "no"),
        row("Description", render.one_line(node.description) or "-"),
        row("Ahead", f"{d.reservations_total} pending or approved reservation(s) not ended yet"),
    ]
    return lines
