"""The Slurm settings (core/slurm/config.py through core/site.py): canonical values, and one line
naming the setting for a bad one."""

from __future__ import annotations

import pytest
from nodedesk.core import site
from nodedesk.core.errors import ValidationError
from nodedesk.core.slurm.config import SlurmConfig, parse_node_map


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("slurm_scontrol", " scontrol ", "scontrol"),
        ("slurm_scontrol", "/opt/slurm/bin//scontrol", "/opt/slurm/bin/scontrol"),
        ("slurm_conf", "", ""),
        ("slurm_conf", "/etc/slurm/slurm.conf", "/etc/slurm/slurm.conf"),
        ("slurm_reservation_user", "slurm", "slurm"),
        (
            "slurm_node_map",
            " gpu[01-02]=node[2433-2434] ;login1=ln1 ",
            "gpu[01-02]=node[2433-2434] login1=ln1",
        ),
        ("slurm_timeout_seconds", "300", "300"),
    ],
)
def test_good_values_are_stored_canonically(key: str, value: str, stored: str) -> None:
    assert site.validate_setting(key, value) == stored


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("slurm_scontrol", "", "is required"),
        ("slurm_scontrol", "scontrol; rm -rf /", "must be a program name on PATH"),
        ("slurm_sinfo", "/usr/bin/s info", "absolute path without spaces"),
        ("slurm_conf", "slurm.conf", "must be an absolute path"),
        ("slurm_conf", "/etc/slurm\x1b.conf", "control characters"),
        ("slurm_reservation_user", "ro ot", "must be a user name"),
        ("slurm_node_map", "gpu01", "is not NODEDESK=SLURM"),
        ("slurm_node_map", "gpu[01-02]=n1", "2 nodedesk name(s) but 1 Slurm name(s)"),
        ("slurm_node_map", "a=x b=x", "Slurm node 'x' is mapped from two nodes"),
        ("slurm_node_map", "a=x a=y", "node 'a' is mapped twice"),
        ("slurm_node_map", "a=x[1-", "'[' without ']'"),
        ("slurm_timeout_seconds", "0", "must be between 1 and 300"),
    ],
)
def test_bad_values_are_one_line_naming_the_setting(key: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        site.validate_setting(key, value)
    assert err.value.field == key and message in str(err.value) and "\n" not in str(err.value)


def test_the_node_map_maps_listed_names_and_keeps_the_others() -> None:
    m = parse_node_map("gpu[01-02]=node[2433-2434]")
    assert [m.slurm_name(n) for n in ("gpu01", "gpu02", "node2435")] == ["node2433", "node2434", "node2435"]
    assert m.reverse(["gpu01", "node2435"]) == {"node2433": "gpu01", "node2435": "node2435"}
    with pytest.raises(
        ValidationError, match="nodes 'gpu01' and 'node2433' both map to Slurm node 'node2433'"
    ):
        m.reverse(["gpu01", "node2433"])


def test_defaults() -> None:
    config = SlurmConfig.from_site(site.SiteSettings())
    assert (config.scontrol, config.sinfo, config.conf, config.timeout_seconds, config.reservation_user) == (
        "scontrol",
        "sinfo",
        "",
        20,
        "root",
    )
