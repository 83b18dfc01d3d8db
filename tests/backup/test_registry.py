"""The registry: complete, ordered by dependencies, driven by the schema."""

from __future__ import annotations

import pytest
from nodedesk.core.backup import registry
from nodedesk.core.backup.kinds import KINDS
from nodedesk.core.backup.registry import Child, Kind, Registry, RegistryError
from nodedesk.core.db.types import UTCDateTime
from nodedesk.core.models import Base
from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, MetaData, String, Table


def test_every_table_is_covered() -> None:
    missing = set(Base.metadata.tables) - registry().covered_tables()
    assert not missing, f"tables without a backup kind (add one in core/backup/kinds.py): {sorted(missing)}"


def test_order_respects_dependencies_and_is_deterministic() -> None:
    reg = registry()
    pos = {name: i for i, name in enumerate(reg.order)}
    for spec in reg:
        for dep in spec.depends:
            assert pos[dep] < pos[spec.name], f"{spec.name} must come after {dep}"
    assert Registry(KINDS).order == reg.order == Registry(list(KINDS)).order
    assert reg.order[0] == "settings" and reg.order[-1] == "activity_log"


def test_references_become_natural_keys() -> None:
    reservations = registry()["reservations"]
    refs = {f.name: f.ref.kind for f in reservations.fields if f.ref}
    assert refs == {"node": "nodes", "project": "projects"}
    assert "id" not in {f.name for f in reservations.fields}
    assert [c.name for c in reservations.key] == ["uuid"]
    assert {c.field for c in registry()["maintenance_windows"].children} == {
        "scope_nodes",
        "scope_node_types",
    }


def _meta() -> tuple[MetaData, Table, Table]:
    md = MetaData()
    a = Table("a", md, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True))
    b = Table(
        "b",
        md,
        Column("id", Integer, primary_key=True),
        Column("code", String(20), unique=True),
        Column("a_id", ForeignKey("a.id")),
    )
    return md, a, b


def test_new_column_needs_no_declaration() -> None:
    _, a, b = _meta()
    kinds = [Kind("as", a, key=("name",)), Kind("bs", b, key=("code",))]
    assert [f.name for f in Registry(kinds)["bs"].fields] == ["a"]
    b.append_column(Column("when", UTCDateTime))
    b.append_column(Column("other_a_id", ForeignKey("a.id")))
    spec = Registry(kinds)["bs"]
    assert [f.name for f in spec.fields] == ["a", "other_a", "when"]
    assert spec.depends == ("as",)


def test_cycle_is_rejected() -> None:
    _, a, b = _meta()
    a.append_column(Column("b_id", ForeignKey("b.id")))
    with pytest.raises(RegistryError, match="dependency cycle"):
        Registry([Kind("as", a, key=("name",)), Kind("bs", b, key=("code",))])


def test_reference_to_an_undeclared_table_is_rejected() -> None:
    _, _, b = _meta()
    with pytest.raises(RegistryError, match="references table a, which has no backup kind"):
        Registry([Kind("bs", b, key=("code",))])


def test_natural_key_must_be_unique() -> None:
    md, _, _ = _meta()
    c = Table("c", md, Column("id", Integer, primary_key=True), Column("label", String(5)))
    with pytest.raises(RegistryError, match="no unique constraint"):
        Registry([Kind("cs", c, key=("label",))])


def test_unsupported_column_type_is_rejected() -> None:
    _, a, _ = _meta()
    a.append_column(Column("blob", LargeBinary))
    with pytest.raises(RegistryError, match="cannot be exported yet"):
        Registry([Kind("as", a, key=("name",))])


def test_child_must_point_at_its_parent() -> None:
    _, a, b = _meta()
    with pytest.raises(RegistryError, match="has no column"):
        Registry([Kind("as", a, key=("name",), children=(Child("bees", b, "nope_id"),))])


def test_unknown_kind_names_are_refused() -> None:
    from nodedesk.core.errors import ValidationError

    with pytest.raises(ValidationError, match="unknown kind 'nodez'"):
        registry().select(exclude=["nodez"])
