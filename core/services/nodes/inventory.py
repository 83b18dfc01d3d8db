"""Node types and nodes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import NotFoundError, ValidationError
from ...fieldcheck import FieldProblem, Problems
from ...models import NODE_CATEGORIES, Node, NodeType
from ..invoicing import rates


def validate_description(value: str | None) -> str:
    """A node's or node type's description (shared with the backup import)."""
    return validate.text(value, "description", max_len=2000)


@dataclass(frozen=True)
class NodeTypeView:
    id: int
    name: str
    category: str
    description: str
    active: bool
    node_count: int

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "active": self.active,
            "node_count": self.node_count,
        }


@dataclass(frozen=True)
class NodeView:
    id: int
    name: str
    node_type: str
    category: str
    rentable: bool
    description: str
    retired_at: datetime | None = None  # help/nodes.md, "Retiring a node"

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    def to_json(self, tz: str = "UTC") -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.node_type,
            "category": self.category,
            "rentable": self.rentable,
            "description": self.description,
            "retired": self.retired,
            "retired_at": timeutil.iso_local(self.retired_at, tz) if self.retired_at else None,
        }


def node_type_view(nt: NodeType) -> NodeTypeView:
    return NodeTypeView(nt.id, nt.name, nt.category, nt.description, nt.active, len(nt.nodes))


def node_view(node: Node) -> NodeView:
    return NodeView(
        node.id,
        node.name,
        node.node_type.name,
        node.node_type.category,
        node.rentable,
        node.description,
        node.retired_at,
    )


def get_node_type(ctx: ServiceContext, name: str, field: str = "type") -> NodeType:
    nt = ctx.session.scalar(select(NodeType).where(NodeType.name == name))
    if nt is None:
        raise NotFoundError(f"no node type named {name!r}", field=field)
    return nt


def get_node(ctx: ServiceContext, name: str, field: str = "node") -> Node:
    node = ctx.session.scalar(select(Node).where(Node.name == name))
    if node is None:
        raise NotFoundError(f"no node named {name!r}", field=field)
    return node


def add_node_type(ctx: ServiceContext, name: str, category: str, description: str = "") -> NodeTypeView:
    ctx.require("manage_inventory")
    name = validate.name(name, "name")
    category = validate.choice((category or "").upper(), "category", NODE_CATEGORIES)
    description = validate_description(description)
    if ctx.session.scalar(select(NodeType.id).where(NodeType.name == name)) is not None:
        raise ValidationError(f"node type {name!r} already exists", field="name")
    now, by = ctx.now(), ctx.actor.username
    nt = NodeType(
        name=name,
        category=category,
        description=description,
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    ctx.session.add(nt)
    ctx.session.flush()
    sku = rates.ensure_node_sku(ctx, nt, record=False)  # every node type has its hourly NODE_<TYPE> SKU
    result = node_type_view(nt)
    ctx.record("node_type.created", "node_type", nt.id, nt.name, after=result.to_json() | {"sku": sku.code})
    return result


def rename_node_type(ctx: ServiceContext, name: str, new_name: str) -> NodeTypeView:
    """Rename a node type; its hourly SKU (linked by id) keeps its code and rates."""
    ctx.require("manage_inventory")
    nt = get_node_type(ctx, name)
    new_name = validate.name(new_name, "name")
    if new_name == nt.name:
        raise ValidationError(f"node type is already called {new_name!r}", field="name")
    if ctx.session.scalar(select(NodeType.id).where(NodeType.name == new_name)) is not None:
        raise ValidationError(f"node type {new_name!r} already exists", field="name")
    before = node_type_view(nt).to_json()
    nt.name = new_name
    nt.modified_at, nt.modified_by = ctx.now(), ctx.actor.username
    ctx.session.flush()
    result = node_type_view(nt)
    sku = rates.ensure_node_sku(ctx, nt, record=False)  # the same SKU row: code and rates unchanged
    ctx.record(
        "node_type.renamed",
        "node_type",
        nt.id,
        nt.name,
        before=before | {"sku": sku.code},
        after=result.to_json() | {"sku": sku.code},
    )
    return result


def _unique_name(ctx: ServiceContext, name: str) -> None:
    if ctx.session.scalar(select(Node.id).where(Node.name == name)) is not None:
        raise ValidationError(f"node {name!r} already exists", field="name")


def retired_rentable(node: Node, rentable: bool | None) -> None:
    """A retired node cannot be made rentable (help/nodes.md, "Retiring a node")."""
    if rentable and node.retired_at is not None:
        raise ValidationError(
            f"{node.name} is retired; reinstate it before making it rentable", field="rentable"
        )


def _new_node_problems(
    ctx: ServiceContext, name: str, node_type: str, description: str
) -> tuple[Problems, str | None, NodeType | None, str | None]:
    p = Problems()
    clean = p.attempt(validate.name, name, "name")
    nt = p.attempt(get_node_type, ctx, node_type)
    desc = p.attempt(validate_description, description)
    if clean is not None:
        p.attempt(_unique_name, ctx, clean)
    return p, clean, nt, desc


def _change_problems(
    ctx: ServiceContext,
    node: Node,
    node_type: str | None,
    rentable: bool | None,
    description: str | None,
    expected_version: int | None,
) -> tuple[Problems, NodeType | None, str | None]:
    p = Problems()
    p.attempt(ctx.check_version, node, expected_version, "node")
    p.attempt(retired_rentable, node, rentable)
    nt = p.attempt(get_node_type, ctx, node_type) if node_type is not None else None
    desc = p.attempt(validate_description, description) if description is not None else None
    return p, nt, desc


def check_node(
    ctx: ServiceContext,
    *,
    name: str | None = None,
    node_type: str | None = None,
    rentable: bool | None = None,
    description: str | None = None,
    node: str | None = None,
    expected_version: int | None = None,
) -> list[FieldProblem]:
    """Every refusal :func:`add_node` (``node`` None: a new node called ``name``) or
    :func:`update_node` (of ``node``; None fields stay as they are) would meet now, without
    writing anything; both run the same checks and raise the first."""
    p = Problems()
    p.attempt(ctx.require, "manage_inventory")
    if node is None:
        problems, *_ = _new_node_problems(ctx, name or "", node_type or "", description or "")
        return p.items + problems.items
    found = p.attempt(get_node, ctx, node)
    if found is None:
        return p.items
    changes, *_ = _change_problems(ctx, found, node_type, rentable, description, expected_version)
    return p.items + changes.items


def add_node(
    ctx: ServiceContext, name: str, node_type: str, *, rentable: bool = True, description: str = ""
) -> NodeView:
    ctx.require("manage_inventory")
    problems, clean, nt, desc = _new_node_problems(ctx, name, node_type, description)
    problems.raise_first()
    assert clean is not None and nt is not None and desc is not None
    now, by = ctx.now(), ctx.actor.username
    node = Node(
        name=clean,
        node_type=nt,
        rentable=rentable,
        description=desc,
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    ctx.session.add(node)
    ctx.session.flush()
    result = node_view(node)
    ctx.record("node.created", "node", node.id, node.name, after=result.to_json())
    return result


def update_node(
    ctx: ServiceContext,
    name: str,
    *,
    node_type: str | None = None,
    rentable: bool | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> NodeView:
    ctx.require("manage_inventory")
    node = get_node(ctx, name)
    before = node_view(node).to_json()
    problems, nt, desc = _change_problems(ctx, node, node_type, rentable, description, expected_version)
    problems.raise_first()
    if nt is not None:
        node.node_type = nt
    if rentable is not None:
        node.rentable = rentable
    if desc is not None:
        node.description = desc
    node.modified_at, node.modified_by = ctx.now(), ctx.actor.username
    ctx.session.flush()
    result = node_view(node)
    ctx.record("node.updated", "node", node.id, node.name, before=before, after=result.to_json())
    return result


def list_node_types(ctx: ServiceContext) -> list[NodeTypeView]:
    ctx.require("read")
    return [node_type_view(nt) for nt in ctx.session.scalars(select(NodeType).order_by(NodeType.name))]


def list_nodes(ctx: ServiceContext, node_type: str | None = None) -> list[NodeView]:
    ctx.require("read")
    query = select(Node).join(Node.node_type).order_by(Node.name)
    if node_type:
        query = query.where(NodeType.name == node_type)
    return [node_view(n) for n in ctx.session.scalars(query)]
