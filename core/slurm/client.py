"""The installed Slurm, through its own ``scontrol`` and ``sinfo`` (help/slurm.md).

Every command runs with a timeout (``slurm_timeout_seconds``) and a clean environment: ``PATH``,
``LC_ALL=C``, ``TZ=UTC`` and ``SLURM_TIME_FORMAT=standard`` (so times are read and written in
UTC, whatever the host's zone: a window across a daylight-saving change lands on the same
instants in Slurm), and ``SLURM_CONF`` when the site sets ``slurm_conf``. Nothing else from the
caller's environment reaches Slurm. A failure is one line: ``slurmctld not reachable: ...``
when the controller does not answer, else the command and Slurm's first error line.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import NodedeskError
from ..safetext import one_line
from . import parse
from .config import SlurmConfig

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What scontrol/sinfo print when slurmctld does not answer.
UNREACHABLE = (
    "unable to contact slurm controller",
    "connection refused",
    "connect failure",
    "socket timed out",
    "zero bytes were transmitted",
    "unexpected message received",
    "is down",
)
NO_CONFIG = ("configuration source", "configuration file", "clustername needs to be specified")


class SlurmError(NodedeskError):
    """Slurm could not be asked or refused a change; the message is one line."""


class SlurmUnreachable(SlurmError):
    """slurmctld did not answer (or the command timed out)."""


@dataclass(frozen=True)
class Ran:
    """One command that ran: its line (as audited) and what it printed."""

    line: str
    stdout: str
    stderr: str
    returncode: int


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= {"*"}]
    return one_line(lines[0], max_len=300) if lines else ""


class SlurmClient:
    def __init__(self, config: SlurmConfig, environ: dict[str, str] | None = None) -> None:
        self.config = config
        base = os.environ if environ is None else environ
        self.env = {
            "PATH": base.get("PATH") or DEFAULT_PATH,
            "LC_ALL": "C",
            "TZ": "UTC",
            "SLURM_TIME_FORMAT": "standard",
        }
        if config.conf:
            self.env["SLURM_CONF"] = config.conf

    # ------------------------------------------------------------ running

    def line(self, program: str, args: Sequence[str]) -> str:
        return shlex.join([Path(program).name, *args])

    def run(self, program: str, args: Sequence[str], *, check: bool = True) -> Ran:
        """Run one Slurm command; ``check`` turns a non-zero exit into a :class:`SlurmError`."""
        self._check_conf()
        line = self.line(program, args)
        timeout = self.config.timeout_seconds
        try:
            done = subprocess.run(
                [program, *args],
                env=self.env,
                capture_output=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            setting = "slurm_sinfo" if program == self.config.sinfo else "slurm_scontrol"
            raise SlurmError(
                f"{program!r} not found (install the Slurm client, or set its path with "
                f"'nodedesk settings set {setting} PATH')",
                field=setting,
            ) from None
        except PermissionError:
            setting = "slurm_sinfo" if program == self.config.sinfo else "slurm_scontrol"
            raise SlurmError(f"{program!r} cannot be run (permission denied)", field=setting) from None
        except subprocess.TimeoutExpired:
            raise SlurmUnreachable(
                f"slurmctld not reachable: '{line}' did not answer within {timeout} s (slurm_timeout_seconds)"
            ) from None
        ran = Ran(
            line,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
            done.returncode,
        )
        if check and ran.returncode != 0:
            raise self.failure(ran)
        return ran

    def failure(self, ran: Ran) -> SlurmError:
        """The one-line error for a command that failed."""
        detail = _first_line(ran.stderr) or _first_line(ran.stdout) or f"exit status {ran.returncode}"
        lowered = (ran.stderr + ran.stdout).lower()
        if any(mark in lowered for mark in UNREACHABLE):
            return SlurmUnreachable(f"slurmctld not reachable: {detail}")
        if any(mark in lowered for mark in NO_CONFIG):
            return SlurmError(
                f"Slurm has no usable configuration ({detail}); set 'nodedesk settings set slurm_conf PATH'",
                field="slurm_conf",
            )
        return SlurmError(f"'{one_line(ran.line, max_len=200)}' failed: {detail}")

    def _check_conf(self) -> None:
        conf = self.config.conf
        if conf and not Path(conf).is_file():
            raise SlurmError(f"{conf} does not exist or is not a file", field="slurm_conf")

    # ------------------------------------------------------------ questions

    def ping(self) -> str:
        """``scontrol ping``: the controller's one-line answer, or :class:`SlurmUnreachable`."""
        ran = self.run(self.config.scontrol, ["ping"], check=False)
        answer = _first_line(ran.stdout)
        if ran.returncode == 0 and " is UP" in ran.stdout:
            return answer
        if " is DOWN" in ran.stdout:
            raise SlurmUnreachable(f"slurmctld not reachable: {answer}")
        raise self.failure(ran)

    def reservations(self) -> tuple[list[parse.SlurmReservation], str]:
        """Every reservation Slurm has, and the command that listed them."""
        ran = self.run(self.config.scontrol, ["--oneliner", "show", "reservation"])
        try:
            return parse.reservations(ran.stdout), ran.line
        except (parse.ParseError, NodedeskError) as exc:
            raise SlurmError(f"'{ran.line}' printed something unreadable: {exc}") from None

    def nodes(self) -> tuple[list[parse.SlurmNode], str]:
        """Every node's state: ``sinfo --json``, or ``scontrol show node`` where sinfo has no
        JSON output."""
        ran = self.run(self.config.sinfo, ["--json"], check=False)
        if ran.returncode == 0:
            try:
                return parse.nodes_from_json(ran.stdout), ran.line
            except parse.ParseError as exc:
                self.ping()  # a controller that stopped answering is named as such
                raise SlurmError(f"'{ran.line}': {exc}") from None
        lowered = ran.stderr.lower()
        if "unrecognized option" not in lowered and "json" not in lowered and "plugin" not in lowered:
            raise self.failure(ran)
        ran = self.run(self.config.scontrol, ["--oneliner", "show", "node"])
        return parse.nodes_from_scontrol(ran.stdout), ran.line

    def change(self, args: Sequence[str]) -> Ran:
        """One change (create, update or delete a reservation)."""
        return self.run(self.config.scontrol, args)
