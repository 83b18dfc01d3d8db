"""``nodedesk migrate orcd DIR`` and ``nodedesk migrate orcd-compare PERIOD FILE`` (help/migrate.md)."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from typing import TYPE_CHECKING

from nodedesk.core import deploy
from nodedesk.core.orcd import compare, migrator
from nodedesk.core.orcd.export import OrcdExport, read_export
from nodedesk.core.orcd.report import MigrationReport, keys
from nodedesk.core.safetext import one_line
from nodedesk.core.services.site import setup

from . import output
from .backup import _leaves_no_new_file, _restore_target
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv

REASONS_SHOWN = 12  # skip reasons listed in the text report (all of them are in --json)
LINES_SHOWN = 20  # overlaps and warnings listed in the text report


def _more(count: int, what: str) -> None:
    if count > LINES_SHOWN:
        print(f"  ... and {count - LINES_SHOWN} more {what} (--json lists them all)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "migrate", help="switch from the ColdFront ORCD Direct Charge plugin (see 'nodedesk help migrate')"
    )
    s = p.add_subparsers(dest="migrate_command", metavar="ACTION", required=True)
    o = s.add_parser(
        "orcd",
        help="create this site from an ORCD export, in one transaction (into a new, empty database)",
    )
    o.add_argument("directory", metavar="DIR", help="the export's top directory (with manifest.json)")
    o.add_argument("--dry-run", action="store_true", help="do everything, print the report, write nothing")
    add_json(o)
    o.set_defaults(handler=cmd_orcd)
    c = s.add_parser(
        "orcd-compare",
        help="the plugin's invoice for a month beside nodedesk's, each difference explained",
    )
    c.add_argument("period", metavar="PERIOD", help="the month, YYYY-MM")
    c.add_argument("invoice", metavar="ORCD_INVOICE.json", help="what the plugin's invoice API returned")
    add_json(c)
    c.set_defaults(handler=cmd_compare)


# ------------------------------------------------------------------------------------------
# migrate orcd


def cmd_orcd(args: argparse.Namespace, env: CliEnv) -> int:
    source: str | OrcdExport = args.directory
    new_file = deploy.sqlite_path(env.config.database_url)
    if new_file is not None and not new_file.exists():
        source = read_export(args.directory)  # no site yet: a refused export leaves no database file
    with _leaves_no_new_file(env) if args.dry_run else nullcontext():
        runtime = _restore_target(env)
        setup.require_backup_admin(runtime)  # on an existing site, only an admin; before reading files
        report = migrator.migrate_orcd(runtime, source, dry_run=args.dry_run)
    if args.json:
        output.print_json(report.to_json())
    else:
        print_report(report)
    return 0


def print_report(r: MigrationReport) -> None:
    src = r.source
    if r.dry_run:
        head = "Dry run of the migration of"
    elif r.outcome == "already migrated":
        head = "Already migrated:"
    else:
        head = "Migrated"
    print(one_line(f"{head} {src['name']} export of {src['export_created_at']} ({r.directory})"))
    software = ", ".join(f"{k} {v}" for k, v in sorted(src["software"].items()))
    print(one_line(f"  format {src['export_version']}, {software}; plugin schema {src['plugin_schema']}"))
    print(one_line(f"  checksums verified (sha256 {src['sha256']})"))
    if r.login:
        print(one_line(f"  admin: {r.login} (the login running the migration)"))
    if r.settings:
        print("Site settings chosen")
        output.table(
            ["SETTING", "VALUE", "WHY"], [[s.name, s.value, s.why] for s in r.settings], max_width=90
        )
    print("What became of each kind of record")
    rows = [
        [k.model, k.read, k.created, k.merged, k.present, k.skipped_count, k.target] for k in r.kinds.values()
    ]
    rows.append(
        [
            "TOTAL",
            r.read,
            r.created,
            sum(k.merged for k in r.kinds.values()),
            sum(k.present for k in r.kinds.values()),
            sum(k.skipped_count for k in r.kinds.values()),
            "",
        ]
    )
    output.table(["KIND", "READ", "CREATED", "MERGED", "PRESENT", "SKIPPED", "BECOMES"], rows)
    reasons = [
        (k.model, reason, found) for k in r.kinds.values() for reason, found in sorted(k.skipped.items())
    ]
    if reasons:
        print("Skipped, and why")
        for model, reason, found in reasons[:REASONS_SHOWN]:
            print(one_line(f"  {model}: {len(found)} - {reason} (e.g. {keys(found, 3)})", max_len=400))
        if len(reasons) > REASONS_SHOWN:
            print(f"  ... and {len(reasons) - REASONS_SHOWN} more reasons (--json lists them all)")
    hidden = [n for n in r.not_mapped if n.count]
    if hidden:
        print("Not mapped (nodedesk has no use for them)")
        output.table(["KIND", "RECORDS", "WHY"], [[n.model, n.count, n.why] for n in hidden], max_width=90)
    if r.placeholder_rates:
        shown = [f"{p['sku']} {p['amount']} from {p['effective_date']}" for p in r.placeholder_rates]
        print(one_line(f"Placeholder rates not migrated ({len(shown)}): {keys(shown, 6)}", max_len=400))
    for o in r.overlaps[:LINES_SHOWN]:
        print(
            one_line(f"Overlap the plugin allowed: reservation #{o['reservation']} {o['why']}", max_len=400)
        )
    _more(len(r.overlaps), "overlaps")
    for m in r.finalized:
        print(
            one_line(
                f"Finalized {m.period} (in the plugin by {m.finalized_by} at {m.finalized_at}): nodedesk "
                f"{m.ours['net_hours']} h, {m.ours['amount']}; the plugin {m.plugin['hours']} h, "
                f"{m.plugin['amount']}"
                + "".join(f"; {c['label']}: {c['amount']}" for c in m.causes.values()),
                max_len=600,
            )
        )
    for w in r.warnings[:LINES_SHOWN]:
        print(one_line(f"warning: {w}", max_len=400))
    _more(len(r.warnings), "warnings")
    if r.dry_run:
        print("Dry run: everything was checked and written, then rolled back; nothing was kept.")
    elif r.outcome == "already migrated":
        print("Nothing was added: this site already holds this export.")
    else:
        seq = r.audit_seq
        print(f"Committed in one transaction ({r.seconds:.1f} s); activity log entry #{seq} (orcd.migrated).")


# ------------------------------------------------------------------------------------------
# migrate orcd-compare


def cmd_compare(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        result = compare.compare_file(ctx, args.period, args.invoice)
    if args.json:
        output.print_json(result.to_json())
    else:
        print_comparison(result)
    return 0


def _signed(text: str) -> str:
    return text if text.startswith("-") or text in ("0.00",) else f"+{text}"


def print_comparison(c: compare.InvoiceComparison) -> None:
    source = "invoice API" if c.orcd_source == "api" else "web view export"
    print(
        one_line(
            f"{c.period}: the plugin's invoice ({c.orcd_status}, from its {source}) beside nodedesk's "
            f"({c.ours_status}); {c.timezone}, {c.currency}"
        )
    )
    differ = [line for line in c.lines if line.differs]
    rows = []
    for line in differ:
        d = line.to_json()
        rows.append(
            [
                d["line"],
                d["project"],
                d["orcd_hours"] or "",
                d["nodedesk_hours"] or "",
                d["orcd_amount"],
                d["nodedesk_amount"],
                _signed(d["amount_difference"]),
                ", ".join(dict.fromkeys(x["label"] for x in d["causes"])),
            ]
        )
    print(f"Lines that differ: {len(differ)} of {len(c.lines)} (the others agree)")
    output.table(
        ["LINE", "PROJECT", "ORCD H", "ND H", "ORCD AMT", "ND AMT", "DIFF", "CAUSES"], rows, max_width=60
    )
    if differ:
        print("Why, line by line")
    for line in differ:
        d = line.to_json()
        print(one_line(f"  {d['line']} ({d['project']})", max_len=200))
        print(one_line(f"    the plugin: {d['orcd']}", max_len=400))
        print(one_line(f"    nodedesk:   {d['nodedesk']}", max_len=400))
        for cause in d["causes"]:
            effect = []
            if cause["hours"] is not None:
                effect.append(f"{_signed(cause['hours'])} h")
            if cause["amount"] is not None:
                effect.append(_signed(cause["amount"]))
            told = f" [{', '.join(effect)}]" if effect else ""
            print(one_line(f"    - {cause['label']}{told}: {cause['text']}", max_len=600))
    summary = c.summary_json()
    print("By cause")
    output.table(
        ["CAUSE", "LINES", "HOURS", "AMOUNT"],
        [[v["label"], v["lines"], _signed(v["hours"]), _signed(v["amount"])] for v in summary.values()],
    )
    figures = ["ORCD H", "ND H", "ORCD AMT", "ND AMT", "DIFF"]

    def row(f: compare.Figures) -> list[str]:
        d = f.to_json()
        return [
            d["orcd_hours"],
            d["nodedesk_hours"],
            d["orcd_amount"],
            d["nodedesk_amount"],
            _signed(d["amount_difference"]),
        ]

    print("Per project")
    output.table(["PROJECT", *figures], [[name, *row(f)] for name, f in sorted(c.projects.items())])
    print("Per cost object")
    output.table(["COST OBJECT", *figures], [[name, *row(f)] for name, f in sorted(c.cost_objects.items())])
    t = c.totals.to_json()
    print(
        one_line(
            f"Total: the plugin {t['orcd_hours']} h, {t['orcd_amount']} {c.currency}; nodedesk "
            f"{t['nodedesk_hours']} h, {t['nodedesk_amount']} {c.currency}; difference "
            f"{_signed(t['amount_difference'])} {c.currency}"
        )
    )
