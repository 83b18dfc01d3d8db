"""The site settings that point nodedesk at Slurm, and the node-name mapping (help/slurm.md).

Settings (``nodedesk settings set NAME VALUE``, admins; stored with the other site settings in
core/site.py, which hands every ``slurm_*`` text setting to :func:`check_setting`):

- ``slurm_scontrol``, ``slurm_sinfo``: the programs, a name looked up on ``PATH`` or an
  absolute path (default ``scontrol`` and ``sinfo``);
- ``slurm_conf``: the ``slurm.conf`` the programs read (passed to them as ``SLURM_CONF``);
  empty: Slurm's own default;
- ``slurm_timeout_seconds``: how long one Slurm command may take;
- ``slurm_reservation_user``: the user a maintenance reservation is made for (Slurm wants one);
- ``slurm_node_map``: nodedesk node = Slurm node, for the names that differ, as host lists
  separated by spaces or ';', e.g. ``gpu[01-04]=node[2433-2436] login1=ln1``; every other node
  has the same name in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from .. import validate
from ..errors import ValidationError
from ..site import SiteSettings
from . import hostlist

_PROGRAM = re.compile(r"^[A-Za-z0-9._+-]+$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
# A Slurm reservation name: ours are ``nodedesk-<window uuid>`` (help/slurm.md).
RESERVATION_PREFIX = "nodedesk-"


def _printable(value: str, key: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("must not contain control characters", field=key)
    return value


def _program(value: str, key: str) -> str:
    text = _printable(value.strip(), key)
    if not text:
        raise ValidationError("is required (a program name on PATH or an absolute path)", field=key)
    if text.startswith("/"):
        if len(text) > 1024 or " " in text:
            raise ValidationError("must be an absolute path without spaces", field=key)
        return str(PurePosixPath(text))
    if not _PROGRAM.match(text):
        raise ValidationError(
            "must be a program name on PATH (such as scontrol) or an absolute path", field=key
        )
    return text


def _conf(value: str, key: str) -> str:
    text = _printable(value.strip(), key)
    if not text:
        return ""
    if not text.startswith("/") or len(text) > 1024:
        raise ValidationError(
            "must be an absolute path to slurm.conf, or empty for Slurm's default", field=key
        )
    return str(PurePosixPath(text))


def _user(value: str, key: str) -> str:
    text = value.strip()
    if not _USER.match(text) or len(text) > 64:
        raise ValidationError("must be a user name (letters, digits, '.', '_', '-')", field=key)
    return text


@dataclass(frozen=True)
class NodeMap:
    """nodedesk node name <-> Slurm node name; names not listed are the same in both."""

    to_slurm: dict[str, str]

    def slurm_name(self, node: str) -> str:
        return self.to_slurm.get(node, node)

    def reverse(self, nodedesk_names: list[str]) -> dict[str, str]:
        """Slurm name -> nodedesk name for these nodedesk nodes; two nodes meeting on one Slurm
        name are refused naming both."""
        back: dict[str, str] = {}
        for name in nodedesk_names:
            slurm = self.slurm_name(name)
            if slurm in back:
                raise ValidationError(
                    f"nodes {back[slurm]!r} and {name!r} both map to Slurm node {slurm!r}",
                    field="slurm_node_map",
                )
            back[slurm] = name
        return back


def parse_node_map(text: str, key: str = "slurm_node_map") -> NodeMap:
    pairs: dict[str, str] = {}
    seen_slurm: dict[str, str] = {}
    for item in re.split(r"[\s;]+", text.strip()):
        if not item:
            continue
        left, sep, right = item.partition("=")
        if not sep or not left or not right:
            raise ValidationError(f"{item[:60]!r} is not NODEDESK=SLURM (host lists allowed)", field=key)
        ours, theirs = hostlist.expand(left, key), hostlist.expand(right, key)
        if len(ours) != len(theirs):
            raise ValidationError(
                f"{item[:60]!r}: {len(ours)} nodedesk name(s) but {len(theirs)} Slurm name(s)", field=key
            )
        for a, b in zip(ours, theirs, strict=True):
            validate.name(a, key)
            validate.name(b, key)
            if a in pairs and pairs[a] != b:
                raise ValidationError(f"node {a!r} is mapped twice", field=key)
            if b in seen_slurm and seen_slurm[b] != a:
                raise ValidationError(f"Slurm node {b!r} is mapped from two nodes", field=key)
            pairs[a], seen_slurm[b] = b, a
    return NodeMap(pairs)


def check_setting(key: str, value: str) -> str:
    """The canonical text of one ``slurm_*`` text setting, or a one-line refusal naming it."""
    if key in ("slurm_scontrol", "slurm_sinfo"):
        return _program(value, key)
    if key == "slurm_conf":
        return _conf(value, key)
    if key == "slurm_reservation_user":
        return _user(value, key)
    if key == "slurm_node_map":
        _printable(value, key)
        parse_node_map(value, key)
        return " ".join(part for part in re.split(r"[\s;]+", value.strip()) if part)
    raise ValidationError("unknown Slurm setting", field=key)  # pragma: no cover - site.py lists them


@dataclass(frozen=True)
class SlurmConfig:
    """The Slurm settings of a site (their defaults are the site's: core/site.py)."""

    scontrol: str
    sinfo: str
    conf: str
    timeout_seconds: int
    reservation_user: str
    node_map: NodeMap

    @classmethod
    def from_site(cls, site: SiteSettings) -> SlurmConfig:
        return cls(
            scontrol=site.slurm_scontrol,
            sinfo=site.slurm_sinfo,
            conf=site.slurm_conf,
            timeout_seconds=site.slurm_timeout_seconds,
            reservation_user=site.slurm_reservation_user,
            node_map=parse_node_map(site.slurm_node_map),
        )
