"""Reading what ``scontrol`` and ``sinfo`` print (help/slurm.md).

- reservations: ``scontrol --oneliner show reservation`` (Slurm 22.05's scontrol has no JSON);
- nodes: ``sinfo --json`` (the OpenAPI document of 22.05, and the data_parser one of later
  releases, where ``state`` is a list and times are ``{"set": .., "number": ..}``), or
  ``scontrol --oneliner show node`` where sinfo has no ``--json``.

Times are read as UTC: the client runs both programs with ``TZ=UTC`` and
``SLURM_TIME_FORMAT=standard`` (core/slurm/client.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from . import hostlist

_FIELD = re.compile(r"(\w+)=(.*?)(?=\s+\w+=|$)")
_REASON_STAMP = re.compile(r"^(.*?)\s*\[([^\]@]*)@([0-9T:-]+)\]\s*$")
# Node states that take a node out of service (base states and flags, upper case).
OUT_OF_SERVICE = frozenset({"DOWN", "DRAIN", "DRAINED", "DRAINING", "FAIL", "FAILING"})


class ParseError(ValueError):
    """Slurm printed something this reader does not understand."""


def slurm_time(text: str) -> datetime | None:
    """``2027-03-13T14:00:00`` (UTC) -> an aware instant; ``Unknown``/``None``/empty -> None."""
    text = (text or "").strip()
    if text in ("", "Unknown", "None", "(null)", "N/A"):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ParseError(f"unreadable Slurm time {text[:40]!r}") from exc


def format_time(instant: datetime) -> str:
    """An instant as scontrol reads it under ``TZ=UTC``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def fields(line: str) -> dict[str, str]:
    """``Key=value Key2=va lue`` -> dict (a value runs up to the next `` Word=``)."""
    return {m.group(1): m.group(2).strip() for m in _FIELD.finditer(line.strip())}


@dataclass(frozen=True)
class SlurmReservation:
    name: str
    start: datetime
    end: datetime
    nodes: tuple[str, ...]  # sorted node names
    flags: frozenset[str]
    state: str  # ACTIVE | INACTIVE
    users: str = ""

    @property
    def host_list(self) -> str:
        return hostlist.compress(self.nodes)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "start": format_time(self.start) + "Z",
            "end": format_time(self.end) + "Z",
            "nodes": self.host_list,
            "flags": sorted(self.flags),
            "state": self.state,
        }


def reservations(text: str) -> list[SlurmReservation]:
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("ReservationName="):
            continue  # "No reservations in the system" and blank lines
        f = fields(line)
        start, end = slurm_time(f.get("StartTime", "")), slurm_time(f.get("EndTime", ""))
        if start is None or end is None:
            raise ParseError(f"reservation {f.get('ReservationName', '')[:60]!r} has no start or end")
        flags = frozenset(x for x in f.get("Flags", "").split(",") if x and x != "(null)")
        found.append(
            SlurmReservation(
                name=f["ReservationName"],
                start=start,
                end=end,
                nodes=tuple(sorted(hostlist.expand(f.get("Nodes", ""), "Nodes"))),
                flags=flags,
                state=f.get("State", ""),
                users=f.get("Users", ""),
            )
        )
    return found


@dataclass(frozen=True)
class SlurmNode:
    name: str
    states: frozenset[str]  # base state and flags, upper case: {"IDLE", "DRAIN", ...}
    reason: str = ""
    reason_at: datetime | None = None
    reason_by: str = ""

    @property
    def out_of_service(self) -> bool:
        """DOWN, DRAIN(ING/ED) or FAIL(ING) with a reason: what the sync records as an outage."""
        return bool(self.states & OUT_OF_SERVICE) and bool(self.reason.strip())

    @property
    def down_states(self) -> str:
        return "+".join(sorted(self.states & OUT_OF_SERVICE))

    def state_text(self) -> str:
        return "+".join(sorted(self.states)) or "UNKNOWN"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state_text(),
            "reason": self.reason,
            "reason_at": format_time(self.reason_at) + "Z" if self.reason_at else None,
            "reason_by": self.reason_by,
        }


def _epoch(value: object) -> datetime | None:
    if isinstance(value, dict):  # data_parser: {"set": true, "infinite": false, "number": N}
        if not value.get("set", True) or value.get("infinite"):
            return None
        value = value.get("number")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _tokens(value: object) -> set[str]:
    if isinstance(value, str):
        raw = re.split(r"[+,\s]+", value)
    elif isinstance(value, list):
        raw = [str(t) for t in value]
    else:
        return set()
    # sinfo's short forms mark a node not responding etc. with a trailing *, ~, #, ! or %
    return {t.strip("*~#!%$@^").upper() for t in raw if t.strip("*~#!%$@^")}


def nodes_from_json(text: str) -> list[SlurmNode]:
    """``sinfo --json``. A document whose ``errors`` list is not empty is an error (sinfo
    prints one and exits 0 when slurmctld does not answer)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"sinfo --json printed no JSON ({exc.msg})") from exc
    if not isinstance(doc, dict):
        raise ParseError("sinfo --json printed no JSON object")
    errors = [e for e in doc.get("errors") or [] if e]
    if errors:
        first = errors[0]
        message = first.get("error") or first.get("description") if isinstance(first, dict) else first
        raise ParseError(f"sinfo --json reported: {str(message)[:200]}")
    seen: dict[str, SlurmNode] = {}
    for item in doc.get("nodes") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = str(item["name"])
        states = _tokens(item.get("state")) | _tokens(item.get("state_flags"))
        by = item.get("reason_set_by_user") or ""
        seen[name] = SlurmNode(
            name=name,
            states=frozenset(states),
            reason=str(item.get("reason") or ""),
            reason_at=_epoch(item.get("reason_changed_at")),
            reason_by=str(by) if isinstance(by, str) else "",
        )
    return list(seen.values())


def nodes_from_scontrol(text: str) -> list[SlurmNode]:
    """``scontrol --oneliner show node``: ``Reason=`` is the line's last field, with
    ``[user@time]`` at its end."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("NodeName="):
            continue
        head, _, reason_part = line.partition(" Reason=")
        f = fields(head)
        reason, by, at = reason_part.strip(), "", None
        m = _REASON_STAMP.match(reason)
        if m:
            reason, by = m.group(1), m.group(2)
            try:
                at = slurm_time(m.group(3))
            except ParseError:
                at = None
        found.append(
            SlurmNode(
                name=f["NodeName"],
                states=frozenset(_tokens(f.get("State", ""))),
                reason=reason,
                reason_at=at,
                reason_by=by,
            )
        )
    return found
