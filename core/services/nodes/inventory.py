"""Node types and nodes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ... import validate
from ...context import ServiceContext
from ...errors import NotFoundError, ValidationError
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

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.node_type,
            "category": self.category,
            "rentable": self.rentable,
            "description": self.description,
        }


def node_type_view(nt: NodeType) -> NodeTypeView:
    return NodeTypeView(nt.id, nt.name, nt.category, nt.description, nt.active, len(nt.nodes))


def node_view(node: Node) -> NodeView:
    return NodeView(
        node.id, node.name, node.node_type.name, node.node_type.category, node.rentable, node.description
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


def add_node(
    ctx: ServiceContext, name: str, node_type: str, *, rentable: bool = True, description: str = ""
) -> NodeView:
    ctx.require("manage_inventory")
    name = validate.name(name, "name")
    nt = get_node_type(ctx, node_type)
    description = validate_description(description)
    if ctx.session.scalar(select(Node.id).where(Node.name == name)) is not None:
        raise ValidationError(f"node {name!r} already exists", field="name")
    now, by = ctx.now(), ctx.actor.username
    node = Node(
        name=name,
        node_type=nt,
        rentable=rentable,
        description=description,
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
) -> NodeView:
    ctx.require("manage_inventory")
    node = get_node(ctx, name)
    before = node_view(node).to_json()
    if node_type is not None:
        node.node_type = get_node_type(ctx, node_type)
    if rentable is not None:
        node.rentable = rentable
    if description is not None:
        node.description = validate_description(description)
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
