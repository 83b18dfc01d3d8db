"""``nodedesk invoice months|show|finalize|unfinalize|verify`` and ``nodedesk override set|clear|list``."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nodedesk.core import timeutil
from nodedesk.core.services.invoicing import invoices as svc
from nodedesk.core.services.invoicing import overrides as ovr
from nodedesk.core.services.invoicing.invoice_export import write_csv

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("invoice", help="monthly invoices: review, finalize, verify")
    s = p.add_subparsers(dest="invoice_command", metavar="ACTION", required=True)

    m = s.add_parser("months", help="months with billable activity, their status and totals")
    add_json(m)
    m.set_defaults(handler=cmd_months)

    sh = s.add_parser("show", help="one month's invoice (a finalized month is shown from its snapshot)")
    sh.add_argument("period", metavar="YYYY-MM")
    sh.add_argument("--project", help="only this project's lines and totals")
    fmt = sh.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="the JSON document (see 'nodedesk help invoices')")
    fmt.add_argument("--csv", action="store_true", help="one row per line and cost object")
    sh.set_defaults(handler=cmd_show)

    f = s.add_parser("finalize", help="freeze a month that has ended (billing manager)")
    f.add_argument("period", metavar="YYYY-MM")
    f.add_argument(
        "--expected-digest",
        metavar="HEX",
        help="finalize only if the month is still the draft you reviewed "
        "(its \"digest\" in 'invoice show --json'); otherwise refused, nothing written",
    )
    add_json(f)
    f.set_defaults(handler=cmd_finalize)

    u = s.add_parser("unfinalize", help="return a finalized month to draft (reason required)")
    u.add_argument("period", metavar="YYYY-MM")
    u.add_argument("--reason", required=True)
    add_json(u)
    u.set_defaults(handler=cmd_unfinalize)

    v = s.add_parser("verify", help="compare a finalized month with live data (exit 1 on drift)")
    v.add_argument("period", metavar="YYYY-MM")
    add_json(v)
    v.set_defaults(handler=cmd_verify)

    o = sub.add_parser("override", help="billing overrides of single invoice lines")
    os_ = o.add_subparsers(dest="override_command", metavar="ACTION", required=True)
    st = os_.add_parser("set", help="set (or replace) the override of one line in one month")
    st.add_argument("period", metavar="YYYY-MM")
    st.add_argument("reservation_id", type=int, metavar="RESERVATION_ID")
    kind = st.add_mutually_exclusive_group(required=True)
    kind.add_argument("--exclude", action="store_true", help="show the line but bill nothing")
    kind.add_argument("--hours", metavar="H", help="bill H hours instead of the net hours")
    kind.add_argument(
        "--split", nargs="+", metavar="CODE=PCT", help="explicit cost split for this line (sums to 100)"
    )
    kind.add_argument("--charge-to", metavar="PROJECT", help="bill another project (with its split)")
    st.add_argument("--reason", required=True)
    add_json(st)
    st.set_defaults(handler=cmd_override_set)

    cl = os_.add_parser("clear", help="remove a line's override")
    cl.add_argument("period", metavar="YYYY-MM")
    cl.add_argument("reservation_id", type=int, metavar="RESERVATION_ID")
    cl.add_argument("--reason", required=True)
    add_json(cl)
    cl.set_defaults(handler=cmd_override_clear)

    ls = os_.add_parser("list", help="a month's overrides")
    ls.add_argument("period", metavar="YYYY-MM")
    add_json(ls)
    ls.set_defaults(handler=cmd_override_list)


# ---------------------------------------------------------------- invoice


def cmd_months(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        months = svc.list_months(ctx)
        tz, currency = ctx.tz, ctx.site.currency
    if args.json:
        output.print_json([m.to_json(tz) for m in months])
        return 0
    output.table(
        [
            "MONTH",
            "STATUS",
            "PROJECTS",
            "LINES",
            "GROSS H",
            "DOWNTIME H",
            "NET H",
            f"AMOUNT {currency}",
            "WARN",
        ],
        [
            [
                m.period,
                m.status
                + (" ⚠ drifted" if m.drifted else "")
                + ("" if m.integrity_ok else " ⚠ snapshot altered"),
                m.projects,
                m.lines,
                m.gross_hours,
                m.downtime_hours,
                m.net_hours,
                m.amount,
                m.warnings or "",
            ]
            for m in months
        ],
    )
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        inv = svc.compute_invoice(ctx, args.period, project=args.project)
    if args.json:
        output.print_json(inv.to_json())
    elif args.csv:
        write_csv(inv, sys.stdout)
    else:
        print_invoice(inv)
    return 0


def _short(iso: str | None) -> str:
    """``2026-02-14T16:00:00-05:00`` → ``2026-02-14 16:00``."""
    return "" if not iso else f"{iso[:10]} {iso[11:16]}"


def _override_note(line: dict[str, Any]) -> str:
    o = line.get("override")
    if not o:
        return ""
    value = o["value"]
    if o["kind"] == "exclude":
        text = "excluded"
    elif o["kind"] == "hours":
        text = f"hours={value}"
    elif o["kind"] == "split":
        text = "split " + ",".join(f"{c}={p}" for c, p in value.items())
    else:
        text = f"charged to {value}"
    return f"✎ {text}: {o['reason']}"


def print_invoice(inv: svc.Invoice, out: Any = None) -> None:
    out = out or sys.stdout
    doc = inv.doc
    cur = doc["currency"]
    if inv.status == "finalized":
        fin = doc.get("finalized") or {}
        state = f"FINALIZED by {fin.get('by')} at {_short(fin.get('at'))} · sha256 {(inv.sha256 or '')[:12]}…"
        if not inv.integrity_ok:
            state += (
                " · ⚠ SNAPSHOT ALTERED: its text no longer matches its SHA-256 "
                "(see 'nodedesk invoice verify')"
            )
        if inv.drifted:
            state += " · ⚠ DRIFTED since finalizing (see 'nodedesk invoice verify')"
    else:
        state = f"DRAFT (live, computed {_short(doc.get('generated_at'))}) · digest {inv.digest[:12]}…"
    title = f"Invoice {doc['period']} · {doc['timezone']} · {cur} · {state}"
    if doc.get("project_filter"):
        title += f" · project {doc['project_filter']}"
    out.write(output.one_line(title) + "\n")
    if not doc["projects"]:
        out.write("\nNothing billed.\n")
    for p in doc["projects"]:
        t = p["totals"]
        out.write(f"\nProject {output.one_line(p['project'])} (owner {output.one_line(p['owner'])})\n")
        rows = []
        for line in p["lines"]:
            if line["type"] == "reservation":
                note = _override_note(line)
                if line.get("charged_from"):
                    note = (note + " " if note else "") + f"(from {line['charged_from']})"
                rows.append(
                    [
                        f"#{line['reservation_id']}",
                        line["node"],
                        line["sku"] or "",
                        _short(line["billed_from"]),
                        _short(line["billed_to"]),
                        line["gross_hours"],
                        f"−{line['downtime_hours']}" if line["downtime_hours"] != "0.00" else "0.00",
                        line["net_hours"],
                        line["rate"] if line["rate"] is not None else ("mixed" if line["rates"] else ""),
                        line["amount"],
                        note,
                    ]
                )
            else:
                rows.append(
                    [
                        "fee",
                        line["user"],
                        line["sku"],
                        line["from"],
                        line["to"],
                        "",
                        "",
                        f"{line['days']}/{line['days_in_month']} d",
                        line["rate"] or "none",
                        line["amount"],
                        "",
                    ]
                )
        output.table(
            [
                "LINE",
                "NODE/USER",
                "SKU",
                "FROM",
                "TO",
                "GROSS H",
                "DOWNTIME H",
                "NET",
                "RATE",
                "AMOUNT",
                "NOTE",
            ],
            rows,
            out=out,
            max_width=60,
        )
        for line in p["lines"]:
            if line["type"] != "reservation":
                continue
            for d in line["downtime"]:
                label = "maintenance" if d["source"] == "maintenance" else "outage"
                still = " (still open)" if d.get("open") else ""
                out.write(
                    f"  #{line['reservation_id']}: −{d['hours']} h {label} #{d['id']} "
                    f"{output.one_line(repr(d['title']))}{still}\n"
                )
            listed = sum((Decimal(d["hours"]) for d in line["downtime"]), Decimal(0))
            if len(line["downtime"]) > 1 and listed != Decimal(line["downtime_hours"]):
                out.write(
                    f"  #{line['reservation_id']}: these overlap; downtime counted once = "
                    f"{line['downtime_hours']} h\n"
                )
        objects = " · ".join(
            f"{code} {v['hours']} h {v['amount']}" for code, v in t.get("cost_objects", {}).items()
        )
        if objects:
            out.write(f"  cost objects: {output.one_line(objects)}\n")
        out.write(
            f"  project total: gross {t['gross_hours']} h, downtime {t['downtime_hours']} h, "
            f"net {t['net_hours']} h, amount {t['amount']} {cur}\n"
        )
    t = doc["totals"]
    out.write(
        f"\nTotal {doc['period']}: gross {t['gross_hours']} h, downtime {t['downtime_hours']} h, "
        f"net {t['net_hours']} h, amount {t['amount']} {cur}\n"
    )
    objects = " · ".join(f"{code} {v['amount']}" for code, v in t.get("cost_objects", {}).items())
    if objects:
        out.write(f"By cost object: {output.one_line(objects)}\n")
    if doc["warnings"]:
        out.write("\nWarnings:\n")
        for w in doc["warnings"]:
            out.write(f"  ! {output.one_line(w)}\n")
    if inv.status == "draft" and inv.digest:
        out.write(
            f"\nDigest of the whole month: {inv.digest}\n"
            f"(nodedesk invoice finalize {inv.period} --expected-digest {inv.digest} "
            "finalizes exactly these figures)\n"
        )


def cmd_finalize(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        inv = svc.finalize(ctx, args.period, expected_digest=args.expected_digest)
    if args.json:
        output.print_json(inv.to_json())
        return 0
    t = inv.totals
    print(
        f"Finalized {inv.period}: {len(inv.projects)} project(s), amount {t['amount']} {inv.currency}, "
        f"net {t['net_hours']} h; sha256 {inv.sha256}"
    )
    if inv.warnings:
        print(
            f"It was finalized with {len(inv.warnings)} warning(s); see 'nodedesk invoice show {inv.period}'."
        )
    return 0


def cmd_unfinalize(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        result = svc.unfinalize(ctx, args.period, args.reason)
        tz = ctx.tz
    if args.json:
        output.print_json(result.to_json(tz))
        return 0
    print(
        f"{result.period} is a live draft again. The snapshot finalized by {result.finalized_by} at "
        f"{timeutil.format_local(result.finalized_at, tz)} (sha256 {result.sha256[:12]}…) "
        "stays in the history."
    )
    return 0


def cmd_verify(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        result = svc.verify(ctx, args.period)
    if args.json:
        output.print_json(result.to_json())
        return 1 if result.drifted else 0
    if not result.drifted:
        print(
            f"{result.period}: live data matches the finalized snapshot (sha256 {result.sha256[:12]}…); "
            f"amount {result.snapshot_totals.get('amount')}"
        )
        if result.flagged:
            print(f"Note: the month was flagged after a correction: {output.one_line(result.drift_note)}")
        return 0
    print(
        f"{result.period}: DRIFT — live data differs from the finalized snapshot "
        f"in {len(result.items)} place(s):"
    )
    for item in result.items:
        print("  " + output.one_line(item.text))
    print(
        f"Snapshot amount {result.snapshot_totals.get('amount')}, "
        f"live amount {result.live_totals.get('amount')}."
    )
    if result.drift_note:
        print(f"Flagged by: {output.one_line(result.drift_note)}")
    print(
        f"To bill the live figures: nodedesk invoice unfinalize {result.period} --reason ..., "
        "then finalize again."
    )
    return 1


# ---------------------------------------------------------------- override


def cmd_override_set(args: argparse.Namespace, env: CliEnv) -> int:
    kind = (
        "exclude"
        if args.exclude
        else "hours"
        if args.hours is not None
        else "split"
        if args.split
        else "charge_to"
    )
    split = None
    if args.split:
        from nodedesk.core.services.rentals.splits import parse_assignment

        split = [parse_assignment(item) for item in args.split]
    with env.runtime().write() as ctx:
        v = ovr.set_override(
            ctx,
            args.period,
            args.reservation_id,
            kind=kind,
            reason=args.reason,
            hours=args.hours,
            split=split,
            charge_to=args.charge_to,
        )
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
        return 0
    print(
        f"Override on reservation #{v.reservation_id} ({v.node}, {output.one_line(v.project)}) "
        f"for {v.period}: "
        f"{output.one_line(v.describe())}"
    )
    return 0


def cmd_override_clear(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = ovr.clear_override(ctx, args.period, args.reservation_id, args.reason)
        tz = ctx.tz
    if args.json:
        output.print_json({"cleared": v.to_json(tz)})
        return 0
    print(f"Cleared the override on reservation #{v.reservation_id} for {v.period} (was {v.describe()})")
    return 0


def cmd_override_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        items = ovr.list_overrides(ctx, args.period)
        tz = ctx.tz
    if args.json:
        output.print_json([v.to_json(tz) for v in items])
        return 0
    output.table(
        ["RESERVATION", "NODE", "PROJECT", "OVERRIDE", "REASON", "BY", "AT"],
        [
            [
                f"#{v.reservation_id}",
                v.node,
                v.project,
                v.describe(),
                v.reason,
                v.by,
                timeutil.format_short(v.at, tz),
            ]
            for v in items
        ],
    )
    return 0
