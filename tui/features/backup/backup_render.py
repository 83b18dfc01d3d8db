"""Backup screens' text: the compatibility report, the confirmation, and the results.

Everything that comes from an export (directory, source name, problem texts quoting file names)
is passed through :func:`~nodedesk.core.safetext.one_line` and built into Rich ``Text`` (never
markup), so a crafted manifest can neither inject markup nor terminal escape sequences. Labelled
rows are Rich grids, so a long value wraps under itself, not under its label. Colours are ANSI
names (they survive 16-colour terminals) and only repeat what the words say.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nodedesk.core import timeutil
from nodedesk.core.backup import COMPATIBLE, INCOMPATIBLE, WARNINGS, CompatReport, ExportResult, ImportResult
from nodedesk.core.safetext import one_line
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

STATUS_LOOK = {
    COMPATIBLE: ("✓", "bold green"),
    WARNINGS: ("⚠", "bold yellow"),
    INCOMPATIBLE: ("✗", "bold red"),
}

MODE_HELP = {
    "create-or-update": "missing records are created, records that differ are updated",
    "create-only": "missing records are created; records already here are left as they are",
    "update-only": "records here that differ are updated; missing ones are skipped",
}

LABEL_WIDTH = 9
KIND_WIDTH = 24


def _t(value: object, max_len: int | None = None) -> str:
    """Outside text (from a manifest, a path, an error) as one inert line."""
    return one_line(str(value), max_len=max_len)


def _n(value: int) -> str:
    return f"{value:,}"


Row = tuple[str | Text, str | Text]


def rows(items: Sequence[Row], *, label_style: str = "bold", indent: int = 2) -> RenderableType:
    """``label  value`` lines; a long value wraps under itself."""
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(width=LABEL_WIDTH, no_wrap=True, style=label_style)
    grid.add_column(ratio=1, overflow="fold")
    for label, value in items:
        grid.add_row(label, value if isinstance(value, Text) else Text(value))
    return Padding(grid, (0, 0, 0, indent)) if indent else grid


def counts_table(headers: Sequence[str], body: Sequence[Sequence[str | int]], total: Sequence[int]) -> Table:
    """A kind column and right-aligned number columns, with a total row."""
    table = Table(
        box=None, padding=(0, 0, 0, 2), pad_edge=False, show_edge=False, header_style="bold underline"
    )
    table.add_column(headers[0], width=KIND_WIDTH, no_wrap=True, overflow="ellipsis")
    for h in headers[1:]:
        table.add_column(h, justify="right", no_wrap=True)
    for row in body:
        table.add_row(Text(_t(row[0], KIND_WIDTH)), *(_n(int(v)) for v in row[1:]))
    table.add_row(Text("total", style="bold"), *(Text(_n(v), style="bold") for v in total))
    return table


def export_time(created_at: str, tz: str, *, raw: bool = True) -> str:
    """``2026-02-15 10:00 -05:00 (2026-02-15T15:00:00Z)``; the raw text if it is not a time."""
    try:
        instant = datetime.fromisoformat(created_at)
    except ValueError:
        return _t(created_at, 40)
    if instant.tzinfo is None:
        return _t(created_at, 40)
    local = timeutil.format_local(instant, tz)
    return f"{local} ({_t(created_at, 40)})" if raw else local


def status_text(status: str) -> Text:
    glyph, style = STATUS_LOOK.get(status, ("?", "bold"))
    return Text(f"{glyph} {status}", style=style)


def recommendation(report: CompatReport, *, log_left_out: bool) -> str:
    """What to do next, in the app's words (the CLI's recommendation names CLI flags)."""
    inst = report.instance
    if report.status == INCOMPATIBLE:
        if not report.integrity.ok:
            return "Do not import: the export is damaged or was changed. Take a fresh export."
        if inst.log_divergence and not log_left_out:
            return (
                "This site has its own activity log. To merge the other data, tick 'leave it out' "
                "at Activity log below. To restore a server, import into an empty database with the "
                "command line (see help)."
            )
        return "Cannot import here; see the problems above."
    target = "Full restore into an empty database" if inst.empty else "Merge into this site's data"
    if report.status == WARNINGS:
        return f"{target}: review the warnings, tick Force, try a dry run, then import."
    return f"{target}: try a dry run, then import."


def _heading(text: str) -> Text:
    return Text(text, style="bold underline")


def compat_report(report: CompatReport, tz: str, *, log_left_out: bool = False) -> RenderableType:
    """The readable pre-import report: status, reasons and next step first, then the details."""
    m, inst = report.manifest, report.instance
    src = m.source
    verdict: list[Row] = [("Status", status_text(report.status))]
    verdict += [(Text("✗ problem", style="bold red"), _t(p)) for p in report.problems]
    verdict += [(Text("⚠ warning", style="bold yellow"), _t(w)) for w in report.warnings]
    verdict.append(("Next", recommendation(report, log_left_out=log_left_out)))
    integrity = report.integrity
    files = (
        Text(f"✓ intact ({integrity.checked} files verified)", style="green")
        if integrity.ok
        else Text(f"✗ {len(integrity.problems)} problem(s), named above", style="bold red")
    )
    export: list[Row] = [
        ("directory", _t(report.directory)),
        ("created", export_time(m.created_at, tz)),
        (
            "source",
            f"{_t(src.get('name', '?'), 60)} ({_t(src.get('database', '?'), 20)}, "
            f"{_t(src.get('site_timezone', '?'), 40)}), exported by {_t(src.get('exported_by', '?'), 40)}",
        ),
        (
            "format",
            f"{_t(m.format, 30)} {_t(m.format_version, 20)} · schema {_t(m.schema_revision, 40)}"
            f" · nodedesk {_t(m.software.get('nodedesk', '?'), 20)}",
        ),
        ("SHA-256", _t(m.root_sha256, 64)),
        ("files", files),
    ]
    schema = _t(inst.schema_revision, 60) + ("" if inst.schema_current else " (not current)")
    contents = (
        "empty: a full restore"
        if inst.empty
        else f"{_n(sum(inst.counts.values()))} records; the import is merged into them"
    )
    here: list[Row] = [
        ("database", f"{inst.database} · schema {schema} · nodedesk {inst.nodedesk}"),
        ("contents", contents),
    ]
    body = [[k, m.counts.get(k, 0), inst.counts.get(k, 0)] for k in report.kinds]
    total = [sum(m.counts.get(k, 0) for k in report.kinds), sum(inst.counts.get(k, 0) for k in report.kinds)]
    parts: list[RenderableType] = [
        rows(verdict, indent=0),
        Text(""),
        _heading("The export"),
        rows(export),
        _heading("This site"),
        rows(here),
        Text(""),
        counts_table(["Kind", "in export", "here now"], body, total),
    ]
    left_out = [k for k in m.kinds if k not in report.kinds]
    if left_out:
        parts.append(Text(f"left out: {_t(', '.join(left_out))}", style="italic"))
    return Group(*parts)


def records_to_import(report: CompatReport) -> int:
    return sum(report.manifest.counts.get(k, 0) for k in report.kinds)


def confirmation(report: CompatReport, mode: str, *, dry_run: bool, force: bool, tz: str) -> RenderableType:
    """The question before an import: what, from where, into what, in which mode, how many."""
    m, inst = report.manifest, report.instance
    verb = "Dry run: check an import of" if dry_run else "Import"
    into = (
        f"this {inst.database} database, empty: a full restore"
        if inst.empty
        else f"this {inst.database} database, a merge (it holds {_n(sum(inst.counts.values()))} records)"
    )
    counts = " · ".join(f"{_t(k, 30)} {_n(m.counts[k])}" for k in report.kinds if m.counts.get(k))
    empty = [k for k in report.kinds if not m.counts.get(k)]
    if empty:
        counts += f" (and {len(empty)} kind{'s' if len(empty) > 1 else ''} with no records)"
    items: list[Row] = [
        ("mode", Text.assemble((mode, "bold"), f": {MODE_HELP[mode]}")),
        ("from", _t(report.directory)),
        (
            "",
            f"source {_t(m.source.get('name', '?'), 40)}, "
            f"exported {export_time(m.created_at, tz, raw=False)}",
        ),
        ("into", into),
        ("counts", counts),
    ]
    left_out = [k for k in m.kinds if k not in report.kinds]
    if left_out:
        items.append(("left out", _t(", ".join(left_out))))
    if force and report.warnings:
        items.append(("force", f"importing despite {len(report.warnings)} warning(s)"))
    if dry_run:
        after = Text("Dry run: every record is checked and written, then rolled back; nothing is kept.")
    else:
        after = Text(
            "This writes to the database in one transaction: any error rolls everything back. "
            "Import never deletes records.",
            style="yellow",
        )
    head = Text(f"{verb} {_n(records_to_import(report))} records in {len(report.kinds)} kinds?", style="bold")
    return Group(head, Text(""), rows(items, indent=0), Text(""), after)


def import_result(result: ImportResult, *, stale_settings: bool = False) -> RenderableType:
    """Per-kind created / updated / unchanged / skipped, and what happened to the transaction."""
    kind = "full restore" if result.restore else "merge"
    if result.dry_run:
        head = "Dry run passed: every record was checked, then rolled back. Nothing was written."
        nxt = "Untick Dry run and press ctrl+s to import for real."
    elif result.audit_seq is not None:
        head = f"Imported in one transaction; activity log entry #{result.audit_seq} (backup.imported)."
        nxt = ""
    else:
        head = "Nothing to change: this database already holds everything in the export."
        nxt = ""
    parts: list[RenderableType] = [
        Text(head, style="bold green"),
        Text(f"mode {result.mode} · {kind} · {_n(result.records)} records · {result.seconds:.2f} s"),
    ]
    if nxt:
        parts.append(Text(nxt))
    if stale_settings:
        parts.append(
            Text("Site settings or users changed: restart nodedesk to use them here.", style="yellow")
        )
    cols = ("created", "updated", "unchanged", "skipped")
    body = [[c.kind, c.created, c.updated, c.unchanged, c.skipped] for c in result.counts]
    total = [sum(getattr(c, col) for c in result.counts) for col in cols]
    parts += [Text(""), counts_table(["Kind", *cols], body, total)]
    return Group(*parts)


def export_result(result: ExportResult) -> RenderableType:
    """Where the export went, how much it holds, and the root checksum to note down."""
    m = result.manifest
    verb = "Dry run: would export" if result.dry_run else "Exported"
    items: list[Row] = [
        ("directory", _t(result.directory)),
        ("SHA-256", Text(m.root_sha256, style="bold")),
        ("", f"schema {m.schema_revision} · format {m.format_version} · {result.seconds:.2f} s"),
    ]
    parts: list[RenderableType] = [
        Text(f"{verb} {_n(result.records)} records ({len(m.files)} kinds).", style="bold green"),
        rows(items, indent=0),
    ]
    if result.dry_run:
        parts.append(Text("Nothing was written (dry run)."))
    body = [[f.kind, f.count, f.size] for f in m.files]
    total = [result.records, sum(f.size for f in m.files)]
    parts += [Text(""), counts_table(["Kind", "records", "bytes"], body, total)]
    return Group(*parts)
