"""``nodedesk export``, ``nodedesk check-import`` and ``nodedesk import`` (see help/backup.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from nodedesk.core import deploy
from nodedesk.core.backup import compat, exporter, importer
from nodedesk.core.runtime import Runtime
from nodedesk.core.safetext import one_line
from nodedesk.core.services.site import setup

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def _restore_target(env: CliEnv) -> Runtime:
    """The runtime of ``check-import``/``import``: on a new server the database may not exist
    yet (a restore creates it, as ``init`` would); its schema is checked by the import."""
    if env._runtime is None:
        env._runtime = Runtime(env.config, create=True)
    return env._runtime


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give one or more kind names separated by commas")
    return names


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", type=_names, metavar="A,B", help="only these kinds (e.g. nodes,node_types)")
    p.add_argument("--exclude", type=_names, metavar="A,B", help="leave these kinds out")


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("export", help="write a backup of the database to a directory (admin)")
    e.add_argument("directory", metavar="DIR")
    e.add_argument(
        "--no-timestamp",
        action="store_true",
        help="write into DIR itself (must be empty) instead of DIR/nodedesk-export-<time>",
    )
    _filters(e)
    e.add_argument(
        "--source-name", metavar="NAME", help="name of this server in the manifest (default: host name)"
    )
    e.add_argument("--dry-run", action="store_true", help="read and checksum everything, write nothing")
    add_json(e)
    e.set_defaults(handler=cmd_export)

    c = sub.add_parser("check-import", help="report whether an export can be imported here (changes nothing)")
    c.add_argument("directory", metavar="DIR")
    _filters(c)
    add_json(c)
    c.set_defaults(handler=cmd_check)

    i = sub.add_parser(
        "import", help="import an export in one transaction (admin; see 'nodedesk help backup')"
    )
    i.add_argument("directory", metavar="DIR")
    i.add_argument("--mode", choices=importer.MODES, default="create-or-update")
    _filters(i)
    i.add_argument("--dry-run", action="store_true", help="do everything, then roll back: nothing is written")
    i.add_argument("--force", action="store_true", help="import despite compatibility warnings")
    i.add_argument(
        "--correct",
        action="store_true",
        help="admin correction: a merge may change locked history (completed windows, resolved "
        "outages, finalized months); each changed record is audited with --reason",
    )
    i.add_argument("--reason", default="", help="why (required with --correct)")
    i.add_argument(
        "--no-verify-checksum",
        action="store_true",
        help="skip the SHA-256 checks (only for an export you edited on purpose)",
    )
    add_json(i)
    i.set_defaults(handler=cmd_import)


class _Progress:
    """One self-overwriting stderr line, only on a terminal."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.active = sys.stderr.isatty()
        self.shown = False

    def __call__(self, kind: str, done: int, total: int) -> None:
        if self.active:
            sys.stderr.write(f"\r{self.verb} {kind}: {done}/{total}\x1b[K")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def cmd_export(args: argparse.Namespace, env: CliEnv) -> int:
    progress = _Progress("exporting")
    try:
        result = exporter.export_backup(
            env.runtime(),
            args.directory,
            models=args.models,
            exclude=args.exclude,
            source_name=args.source_name,
            timestamp=not args.no_timestamp,
            dry_run=args.dry_run,
            progress=progress,
        )
    finally:
        progress.done()
    m = result.manifest
    if args.json:
        output.print_json({"directory": str(result.directory), "dry_run": result.dry_run, **m.to_json()})
        return 0
    verb = "Dry run: would export" if result.dry_run else "Exported"
    print(one_line(f"{verb} {result.records} records ({len(m.files)} kinds) to {result.directory}"))
    output.table(["KIND", "RECORDS", "BYTES"], [[f.kind, f.count, f.size] for f in m.files])
    print(f"root SHA-256: {m.root_sha256}")
    print(f"schema {m.schema_revision}, format {m.format_version}, {result.seconds:.2f} s")
    return 0


def _print_report(report: compat.CompatReport) -> None:
    m, inst = report.manifest, report.instance
    src = m.source
    print("Export")
    output.fields(
        [
            ("  directory", report.directory),
            ("  format", f"{m.format} {m.format_version}"),
            ("  created", m.created_at),
            (
                "  source",
                f"{src.get('name', '?')} ({src.get('database', '?')}, {src.get('site_timezone', '?')})",
            ),
            ("  schema", m.schema_revision),
            ("  software", ", ".join(f"{k} {v}" for k, v in sorted(m.software.items()))),
            ("  root SHA-256", m.root_sha256),
            (
                "  integrity",
                f"OK ({report.integrity.checked} files verified)"
                if report.integrity.ok
                else f"FAILED ({len(report.integrity.problems)} problem(s))",
            ),
        ]
    )
    print("This instance")
    output.fields(
        [
            ("  database", inst.database),
            ("  schema", inst.schema_revision + ("" if inst.schema_current else " (not current)")),
            ("  nodedesk", f"{inst.nodedesk} (reads format {inst.format_version})"),
            ("  contents", "empty: a full restore" if inst.empty else f"{sum(inst.counts.values())} records"),
        ]
    )
    print(one_line(f"Status: {report.status}"))
    for p in report.problems:
        print(one_line(f"  problem: {p}"))
    for w in report.warnings:
        print(one_line(f"  warning: {w}"))
    output.table(
        ["KIND", "IN EXPORT", "HERE NOW"],
        [[k, m.counts.get(k, 0), inst.counts.get(k, 0)] for k in report.kinds],
    )
    print(one_line(f"Recommendation: {report.recommendation}"))


@contextmanager
def _leaves_no_new_file(env: CliEnv) -> Iterator[None]:
    """``check-import`` only looks: a SQLite database that did not exist before it (a new server)
    is removed again, with its journal files and the directory made for it."""
    path = deploy.sqlite_path(env.config.database_url)
    made: list[Path] = []
    if path is not None and not path.exists():
        made = [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
        made += [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    try:
        yield
    finally:
        if made:
            env.close()
            for item in made:
                with suppress(OSError):
                    item.rmdir() if item.is_dir() else item.unlink()


def cmd_check(args: argparse.Namespace, env: CliEnv) -> int:
    with _leaves_no_new_file(env):
        setup.require_backup_admin(_restore_target(env))  # before reading any file
        report = compat.check_import(
            _restore_target(env), args.directory, models=args.models, exclude=args.exclude
        )
    if args.json:
        output.print_json(report.to_json())
    else:
        _print_report(report)
    if report.status == compat.INCOMPATIBLE:
        output.note(f"nodedesk: error: {report.status}: {report.problems[0]}")
        return 1
    return 0


def cmd_import(args: argparse.Namespace, env: CliEnv) -> int:
    setup.require_backup_admin(_restore_target(env))  # before reading any file
    progress = _Progress("importing")
    try:
        result = importer.import_backup(
            _restore_target(env),
            args.directory,
            mode=args.mode,
            models=args.models,
            exclude=args.exclude,
            dry_run=args.dry_run,
            force=args.force,
            verify_checksums=not args.no_verify_checksum,
            progress=progress,
            correct=args.correct,
            reason=args.reason,
        )
    finally:
        progress.done()
    for w in result.warnings:
        output.note(f"nodedesk: warning (--force): {w}")
    if args.json:
        output.print_json(result.to_json())
        return 0
    m = result.manifest
    kind = "restore into an empty database" if result.restore else "merge"
    print(  # the manifest's words are the export's, not ours: shown inert
        one_line(
            f"{'Dry run of import' if result.dry_run else 'Imported'} {result.directory} "
            f"(source {m.source.get('name', '?')}, exported {m.created_at}); mode {result.mode}, {kind}"
        )
    )
    rows = [[c.kind, c.created, c.updated, c.unchanged, c.skipped] for c in result.counts]
    totals = [sum(c.created for c in result.counts), sum(c.updated for c in result.counts)]
    rows.append(
        ["TOTAL", *totals, sum(c.unchanged for c in result.counts), sum(c.skipped for c in result.counts)]
    )
    output.table(["KIND", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED"], rows)
    if result.dry_run:
        print("Dry run: every record was checked and flushed, then rolled back; nothing was written.")
    elif result.audit_seq is not None:
        print(f"Committed in one transaction; activity log entry #{result.audit_seq} (backup.imported).")
    else:
        print("Nothing to change: this database already holds everything in the export.")
    return 0
