"""``nodedesk user ...``, ``node-type ...``, ``node ...`` and identity rules through the CLI."""

from __future__ import annotations

from tests.cli.conftest import SiteCli


def test_users(cli_site: SiteCli) -> None:
    out = cli_site.ok("user", "add", "rita", "--role", "rental_manager,viewer", "--full-name", "Rita M")
    assert "rita" in out and "rental_manager" in out
    users = {u["username"]: u for u in cli_site.json("user", "list")}
    assert set(users) == {cli_site.admin, "rita"}
    assert users["rita"] == {
        "id": users["rita"]["id"],
        "username": "rita",
        "full_name": "Rita M",
        "email": "",
        "roles": ["rental_manager", "viewer"],
        "active": True,
    }
    before = cli_site.json("user", "list")
    for args, field in (
        (("user", "add", "rita", "--role", "viewer"), "username"),
        (("user", "add", "bad name", "--role", "viewer"), "username"),
        (("user", "add", "bob", "--role", "emperor"), "role"),
    ):
        assert cli_site.refused(*args).startswith(f"nodedesk: error: {field}: ")
    assert cli_site.json("user", "list") == before
    # replacing roles keeps a role the user already has
    cli_site.ok("user", "roles", "rita", "--role", "rental_manager,billing_manager")
    rita = next(u for u in cli_site.json("user", "list") if u["username"] == "rita")
    assert rita["roles"] == ["billing_manager", "rental_manager"]


def test_node_types_and_nodes(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "gpu", "--description", "4x A100")
    cli_site.ok("node", "add", "node2431", "--type", "A100")
    cli_site.ok("node", "add", "node2432", "--type", "A100", "--not-rentable")
    types = cli_site.json("node-type", "list")
    assert types == [
        {
            "id": types[0]["id"],
            "name": "A100",
            "category": "GPU",
            "description": "4x A100",
            "active": True,
            "node_count": 2,
        }
    ]
    nodes = cli_site.json("node", "list")
    assert [(n["name"], n["type"], n["category"], n["rentable"]) for n in nodes] == [
        ("node2431", "A100", "GPU", True),
        ("node2432", "A100", "GPU", False),
    ]
    assert "node2431" in cli_site.ok("node", "list")
    assert cli_site.refused("node", "add", "node2431", "--type", "A100").startswith("nodedesk: error: name:")
    assert cli_site.refused("node", "add", "node9", "--type", "H100").startswith("nodedesk: error: type:")
    assert len(cli_site.json("node", "list")) == 2


def test_impersonation_and_unregistered_users(cli_site: SiteCli) -> None:
    cli_site.ok("user", "add", "rita", "--role", "rental_manager")
    # an admin acting as rita: the change is hers, the audit shows who really did it
    doc = cli_site.json(
        "window", "add", "--title", "T", "--start", "2026-02-20 08:00", "--end", "2026-02-20 09:00",
        env={"NODEDESK_USER": "rita"},
    )  # fmt: skip
    assert doc["created_by"] == "rita"
    entry = cli_site.json("audit", "list", "--limit", "1")[0]
    assert (entry["actor"], entry["real_user"]) == ("rita", cli_site.admin)
    assert f"{cli_site.admin} as rita" in cli_site.ok("audit", "list", "--limit", "1")
    # LOGNAME/USER name nobody: the acting login is the effective uid's account (a non-admin
    # acting as someone else and an unregistered login are in tests/trust/test_identity.py,
    # with real Unix users)
    as_rita = {"LOGNAME": "rita", "USER": "rita"}
    doc = cli_site.json(
        "window", "add", "--title", "U", "--start", "2026-02-21 08:00", "--end", "2026-02-21 09:00",
        env=as_rita,
    )  # fmt: skip
    assert doc["created_by"] == cli_site.admin
    # NODEDESK_USER naming nobody registered, or a deactivated user, is refused in one line
    assert cli_site.run("window", "list", env={"NODEDESK_USER": "mallory"}).stderr.splitlines() == [
        "nodedesk: error: NODEDESK_USER: user 'mallory' is not registered"
    ]
    cli_site.ok("user", "edit", "rita", "--active", "no")
    assert cli_site.run("window", "list", env={"NODEDESK_USER": "rita"}).stderr.splitlines() == [
        "nodedesk: error: NODEDESK_USER: user 'rita' is deactivated"
    ]
