"""``nodedesk node-type add|list`` and ``nodedesk node add|edit|list``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.nodes import inventory, node_status

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("node-type", help="node types (GPU/CPU models)")
    ts = t.add_subparsers(dest="nt_command", metavar="ACTION", required=True)
    a = ts.add_parser("add", help="add a node type")
    a.add_argument("name")
    a.add_argument("--category", required=True, type=str.upper, choices=["GPU", "CPU"])
    a.add_argument("--description", default="")
    a.set_defaults(handler=cmd_type_add)
    rn = ts.add_parser("rename", help="rename a node type (its NODE_<TYPE> SKU and rates stay)")
    rn.add_argument("name")
    rn.add_argument("new_name")
    rn.set_defaults(handler=cmd_type_rename)
    ls = ts.add_parser("list", help="list node types")
    add_json(ls)
    ls.set_defaults(handler=cmd_type_list)

    n = sub.add_parser("node", help="compute nodes")
    ns = n.add_subparsers(dest="node_command", metavar="ACTION", required=True)
    a = ns.add_parser("add", help="add a node")
    a.add_argument("name")
    a.add_argument("--type", required=True, dest="node_type")
    a.add_argument("--not-rentable", action="store_true", help="the node cannot be reserved")
    a.add_argument("--description", default="")
    a.set_defaults(handler=cmd_node_add)
    e = ns.add_parser("edit", help="change a node's type, rentable flag or description")
    e.add_argument("name")
    e.add_argument("--type", dest="node_type")
    e.add_argument("--rentable", choices=["yes", "no"])
    e.add_argument("--description")
    e.set_defaults(handler=cmd_node_edit)
    ls = ns.add_parser(
        "list",
        help="list nodes with their status now: outage > maintenance > rented > free (first that "
        "applies), since when, and the next change",
    )
    ls.add_argument("--type", dest="node_type")
    add_json(ls)
    ls.set_defaults(handler=cmd_node_list)


def cmd_type_add(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = inventory.add_node_type(ctx, args.name, args.category, args.description)
    print(f"Added node type {v.name} ({v.category})")
    return 0


def cmd_type_rename(args: argparse.Namespace, env: CliEnv) -> int:
    old = args.name
    with env.runtime().write() as ctx:
        v = inventory.rename_node_type(ctx, args.name, args.new_name)
        sku = rates.sku_for_node_type(ctx, inventory.get_node_type(ctx, v.name))
    print(f"Renamed node type {old} to {v.name} (SKU {sku.code if sku else '-'} unchanged)")
    return 0


def cmd_type_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        rows = inventory.list_node_types(ctx)
    if args.json:
        output.print_json([r.to_json() for r in rows])
    else:
        output.table(
            ["TYPE", "CATEGORY", "NODES", "ACTIVE", "DESCRIPTION"],
            [[r.name, r.category, r.node_count, "yes" if r.active else "no", r.description] for r in rows],
        )
    return 0


def cmd_node_add(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = inventory.add_node(
            ctx, args.name, args.node_type, rentable=not args.not_rentable, description=args.description
        )
    print(f"Added node {v.name} ({v.node_type}{', not rentable' if not v.rentable else ''})")
    return 0


def cmd_node_edit(args: argparse.Namespace, env: CliEnv) -> int:
    rentable = None if args.rentable is None else args.rentable == "yes"
    with env.runtime().write() as ctx:
        v = inventory.update_node(
            ctx, args.name, node_type=args.node_type, rentable=rentable, description=args.description
        )
    print(f"Updated node {v.name} ({v.node_type}, {'rentable' if v.rentable else 'not rentable'})")
    return 0


def cmd_node_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        rows = inventory.list_nodes(ctx, args.node_type)
        statuses = {s.node: s for s in node_status.node_statuses(ctx, args.node_type)}
        tz = ctx.tz
    if args.json:
        output.print_json([r.to_json() | statuses[r.name].to_json(tz) for r in rows])
    else:
        output.table(
            ["NODE", "TYPE", "CATEGORY", "RENTABLE", "STATUS", "SINCE", "DETAIL", "NEXT CHANGE"],
            [
                [
                    r.name,
                    r.node_type,
                    r.category,
                    "yes" if r.rentable else "no",
                    f"{node_status.STATE_GLYPHS[st.state]} {st.state}",
                    st.since_text(tz),
                    st.detail or "-",
                    st.next_text(tz),
                ]
                for r in rows
                for st in [statuses[r.name]]
            ],
        )
    return 0
