"""A real Slurm controller for the Slurm sync tests: ``munged`` and ``slurmctld`` started from
the Debian packages (slurmctld, slurm-client, munge; ``.ci/run`` installs them), no slurmd.

Per test session (and xdist worker): a temporary directory with a fresh munge key, munged on
its own socket, pid, log and seed files, and a minimal ``slurm.conf`` (this host as
``SlurmctldHost`` on 127.0.0.1, a free port, state in the directory, nodes
``node[2433-2436]``, one partition, ``SlurmdTimeout=0`` so nodes without slurmd are never
marked down behind a test's back). Both daemons run in the foreground as root and are stopped
by their pids. Between tests every reservation is deleted and every node resumed.

Without root or the programs: skipped locally with the reason, a failure when ``CI=true``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.site import settings

from tests.conftest import IN_CI

NODES = ("node2433", "node2434", "node2435", "node2436")
PROGRAMS = ("munged", "slurmctld", "scontrol", "sinfo")
_FIELD = re.compile(r"(\w+)=(.*?)(?=\s+\w+=|$)")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "the Slurm tests start munged and slurmctld as root (run them as root)"
    absent = [p for p in PROGRAMS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]
    if absent:
        return f"{', '.join(absent)} not installed (apt-get install slurmctld slurm-client munge)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


class SlurmCluster:
    """The running controller, and the commands an admin would type at it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "slurm.conf"
        self.port = _free_port()
        self.host = socket.gethostname().split(".")[0]
        self.cluster = f"nd{os.urandom(4).hex()}"  # one per pytest worker: never two alike on a host
        self.munged: subprocess.Popen[bytes] | None = None
        self.slurmctld: subprocess.Popen[bytes] | None = None
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SLURM_CONF": str(self.conf),
            "TZ": "UTC",
        }

    def write_conf(self, path: Path, port: int) -> None:
        r = self.root
        path.write_text(
            f"""ClusterName={self.cluster}
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={port}
SlurmdPort={_free_port()}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={r}/munge/munge.socket
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/state/slurmd
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmctldLogFile={r}/log/slurmctld.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/linear
SlurmdTimeout=0
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=node[2433-2436] NodeAddr=127.0.0.1 CPUs=1 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        )

    def start(self) -> None:
        r = self.root
        for sub in ("munge", "state", "run", "log"):
            (r / sub).mkdir(mode=0o700, exist_ok=True)
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        munge_log = (r / "log" / "munged.out").open("wb")
        self.munged = subprocess.Popen(
            [
                _program("munged"),
                "--foreground",
                "--force",
                f"--socket={r}/munge/munge.socket",
                f"--key-file={key}",
                f"--pid-file={r}/run/munged.pid",
                f"--log-file={r}/log/munged.log",
                f"--seed-file={r}/state/munged.seed",
            ],
            stdout=munge_log,
            stderr=subprocess.STDOUT,
        )
        self._wait_for(lambda: (r / "munge" / "munge.socket").exists(), "munged", r / "log" / "munged.out")
        self.write_conf(self.conf, self.port)
        ctld_log = (r / "log" / "slurmctld.out").open("wb")
        self.slurmctld = subprocess.Popen(
            [_program("slurmctld"), "-D", "-i", "-f", str(self.conf)],
            env=self.env,
            stdout=ctld_log,
            stderr=subprocess.STDOUT,
        )
        self._wait_for(self.up, "slurmctld", r / "log" / "slurmctld.out")

    def _wait_for(self, ready, what: str, log: Path, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if ready():
                return
            if any(p is not None and p.poll() is not None for p in (self.munged, self.slurmctld)):
                break  # a daemon exited: its log says why
            time.sleep(0.2)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{what} did not start:\n{tail}")

    def up(self) -> bool:
        done = subprocess.run(["scontrol", "ping"], env=self.env, capture_output=True, text=True, timeout=30)
        return done.returncode == 0 and " is UP" in done.stdout

    def stop(self) -> None:
        _stop(self.slurmctld)
        _stop(self.munged)

    # ------------------------------------------------------------ an admin at the controller

    def scontrol(self, *args: str, tz: str = "UTC", check: bool = True) -> str:
        done = subprocess.run(
            ["scontrol", *args], env={**self.env, "TZ": tz}, capture_output=True, text=True, timeout=60
        )
        if check and done.returncode != 0:
            raise AssertionError(f"scontrol {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def reservations(self, tz: str = "UTC") -> dict[str, dict[str, str]]:
        """Every reservation, by name: its ``scontrol show`` fields (times in ``tz``)."""
        found = {}
        for line in self.scontrol("--oneliner", "show", "reservation", tz=tz).splitlines():
            if line.startswith("ReservationName="):
                fields = {m.group(1): m.group(2).strip() for m in _FIELD.finditer(line)}
                found[fields["ReservationName"]] = fields
        return found

    def node(self, name: str) -> dict[str, str]:
        line = self.scontrol("--oneliner", "show", "node", name).strip()
        head, _, reason = line.partition(" Reason=")
        fields = {m.group(1): m.group(2).strip() for m in _FIELD.finditer(head)}
        fields["Reason"] = reason
        return fields

    def drain(self, node: str, reason: str) -> None:
        self.scontrol("update", f"NodeName={node}", "State=DRAIN", f"Reason={reason}")

    def down(self, node: str, reason: str) -> None:
        self.scontrol("update", f"NodeName={node}", "State=DOWN", f"Reason={reason}")

    def resume(self, node: str) -> None:
        """Back in service. (Slurm answers 'Invalid node state' for a node whose slurmd never
        registered, yet clears its DRAIN/DOWN: the state read afterwards is what counts.)"""
        self.scontrol("update", f"NodeName={node}", "State=RESUME", check=False)
        state = self.node(node)["State"]
        assert not {"DRAIN", "DOWN", "FAIL"} & set(state.split("+")), f"{node} still {state}"

    def reset(self) -> None:
        for name in self.reservations():
            self.scontrol("delete", f"ReservationName={name}")
        for node in NODES:
            state = set(self.node(node)["State"].split("+"))
            if {"DRAIN", "DOWN", "FAIL"} & state:
                self.resume(node)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    problem = _missing()
    if problem:
        if IN_CI:
            pytest.fail(f"the Slurm tests need a real slurmctld in CI: {problem}")
        pytest.skip(problem)
    root = tmp_path_factory.mktemp("slurm")
    root.chmod(0o700)
    cluster = SlurmCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def slurm(slurm_cluster: SlurmCluster) -> Iterator[SlurmCluster]:
    """The controller with no reservation and every node in service, before and after."""
    slurm_cluster.reset()
    yield slurm_cluster
    slurm_cluster.reset()


def real_now() -> datetime:
    """Slurm's clock is the real one: tests freeze nodedesk's at it."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def slurm_site(runtime: Runtime, clock, slurm: SlurmCluster) -> Runtime:  # type: ignore[no-untyped-def]
    """The ``runtime`` site (both back ends) pointed at the controller: its clock at the real
    now, node type CPU with nodes node2433-node2436, ``slurm_conf`` set."""
    clock.set(real_now())
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "CPU", "CPU")
        for name in NODES:
            inventory.add_node(ctx, name, "CPU")
        settings.set_setting(ctx, "slurm_conf", str(slurm.conf))
    return runtime
