"""``nodedesk doctor``: is this deployment safe on a shared host? (help/security.md)

One :class:`Check` per question, each OK, a problem saying what to fix, or skipped when it
cannot be answered from here (e.g. sudoers files are readable by root only). Admins only.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from ... import deploy
from ...db import migrate
from ...errors import PermissionDenied

if TYPE_CHECKING:
    from ...runtime import Runtime

OK, PROBLEM, SKIPPED = "ok", "problem", "skipped"
SUDOERS = (Path("/etc/sudoers"), Path("/etc/sudoers.d"))
# Variables a sudoers rule must not pass to the service account: they choose the database,
# the code that runs, or who nodedesk thinks is calling.
UNSAFE_ENV_KEEP = ("NODEDESK_DATABASE_URL", "XDG_", "SUDO_", "PYTHON", "LD_", "HOME")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, PROBLEM or SKIPPED
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail}


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _group_members(gid: int) -> list[str]:
    try:
        group = grp.getgrgid(gid)
    except KeyError:
        return [f"gid {gid}"]
    primary = [p.pw_name for p in pwd.getpwall() if p.pw_gid == gid]
    return sorted(set(group.gr_mem) | set(primary))


def _private_file(path: Path, what: str, owner: int) -> list[Check]:
    """``path`` 0600 and its directory 0700, both owned by ``owner``."""
    checks: list[Check] = []
    for target, fix in ((path.parent, "chmod 700"), (path, "chmod 600")):
        label = f"{what} {'directory' if target == path.parent else 'file'}"
        try:
            info = target.stat()
        except FileNotFoundError:
            checks.append(Check(label, PROBLEM, f"{target} does not exist"))
            continue
        except OSError as exc:
            checks.append(Check(label, PROBLEM, f"{target} cannot be read ({exc.strerror})"))
            continue
        if info.st_uid != owner:
            checks.append(
                Check(
                    label,
                    PROBLEM,
                    f"{target} belongs to {_name(info.st_uid)}, not {_name(owner)}; "
                    f"run 'chown {_name(owner)} {target}'",
                )
            )
        elif stat.S_IMODE(info.st_mode) & 0o077:
            checks.append(Check(label, PROBLEM, f"{target} is mode {_mode(info)}; run '{fix} {target}'"))
        else:
            checks.append(Check(label, OK, f"{target} mode {_mode(info)}, owner {_name(owner)}"))
    return checks


def _readers(db: Path, owner: int) -> Check:
    """Who besides root can read the SQLite file: its owner, a group, or everyone."""
    name = "who can read the database"
    if deploy.sqlite_exposures(db):
        return Check(name, PROBLEM, "every account on this host (see the lines above)")
    try:
        info, folder = db.stat(), db.parent.stat()
    except OSError as exc:
        return Check(name, PROBLEM, f"{db} cannot be read ({exc.strerror})")
    readers = [_name(info.st_uid)]
    if info.st_mode & 0o040 and folder.st_mode & 0o010:
        readers += _group_members(info.st_gid)
    if readers == [_name(owner)]:
        return Check(name, OK, f"{_name(owner)} only" + (" (and root)" if owner else ""))
    return Check(name, PROBLEM, f"{', '.join(sorted(set(readers)))}; run 'chmod 600 {db}'")


def storage_checks(runtime: Runtime) -> list[Check]:
    """Modes and owner of the database (or the database-url file) and who can read it."""
    config = runtime.config
    owner = os.geteuid()
    db = deploy.sqlite_path(config.database_url)
    if db is not None:
        checks = _private_file(db, "database", owner)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db}{suffix}")
            if side.exists() and stat.S_IMODE(side.stat().st_mode) & 0o077:
                checks.append(
                    Check("database file", PROBLEM, f"{side} is open to others; run 'chmod 600 {side}'")
                )
        checks.append(_readers(db, owner))
        return checks
    if config.url_source in ("environment", "default"):
        return [
            Check(
                "database-url file",
                PROBLEM,
                "the PostgreSQL URL comes from NODEDESK_DATABASE_URL; on a shared host keep it in "
                f"{deploy.config_dir({}) / deploy.URL_FILE_NAME} (mode 0600), readable by the "
                "service account only",
            )
        ]
    checks = _private_file(Path(config.url_source), "database-url", owner)
    checks.append(
        Check(
            "who can read the database",
            OK if all(c.status == OK for c in checks) else PROBLEM,
            f"those who can read {config.url_source} (its password) or know the role's password",
        )
    )
    return checks


def service_account_checks(runtime: Runtime) -> list[Check]:
    config = runtime.config
    svc = deploy.storage_owner(config.database_url, config.url_source)
    euid = os.geteuid()
    checks: list[Check] = []
    if svc is None:
        checks.append(Check("service account", PROBLEM, "no file names the service account"))
        return checks
    name = _name(svc)
    if svc == 0:
        checks.append(
            Check(
                "service account",
                PROBLEM,
                "the data belongs to root; on a shared host give it to a dedicated service account "
                "(README, 'Deploying on a shared host')",
            )
        )
    elif euid != svc:
        checks.append(
            Check(
                "service account",
                PROBLEM,
                f"nodedesk runs as {_name(euid)} but the data belongs to {name}; run it as "
                f"'sudo -u {name} nodedesk'",
            )
        )
    else:
        via = deploy.sudo_parent_uid()
        how = f", started by sudo for {runtime.login}" if via is not None else ""
        checks.append(Check("service account", OK, f"running as {name}{how}"))
    try:
        shell = pwd.getpwuid(svc).pw_shell
    except KeyError:
        shell = ""
    if svc != 0 and shell and not shell.endswith(("nologin", "false")):
        checks.append(
            Check(
                "service account shell",
                PROBLEM,
                f"{name} has the login shell {shell}; run 'usermod -s /usr/sbin/nologin {name}'",
            )
        )
    return checks


def _sudoers_lines() -> tuple[list[str], list[str]]:
    """(lines, files that could not be read)."""
    lines: list[str] = []
    unreadable: list[str] = []
    files: list[Path] = [SUDOERS[0]]
    try:
        files += sorted(p for p in SUDOERS[1].iterdir() if p.is_file())
    except OSError:
        unreadable.append(str(SUDOERS[1]))
    for path in files:
        try:
            lines += path.read_text(errors="replace").splitlines()
        except OSError:
            unreadable.append(str(path))
    return lines, unreadable


def sudoers_checks(runtime: Runtime, svc_name: str) -> list[Check]:
    lines, unreadable = _sudoers_lines()
    rules = [ln.strip() for ln in lines if f"({svc_name})" in ln and not ln.strip().startswith("#")]
    checks: list[Check] = []
    if not rules:
        if unreadable:
            return [
                Check(
                    "sudoers rule",
                    SKIPPED,
                    f"{', '.join(unreadable)} not readable from here; as root: "
                    f"'grep -r {svc_name} /etc/sudoers /etc/sudoers.d'",
                )
            ]
        return [
            Check(
                "sudoers rule",
                PROBLEM,
                f"no rule lets people run nodedesk as {svc_name}; add "
                f"'%ndadmins ALL=({svc_name}) NOPASSWD: /usr/local/bin/nodedesk' with visudo",
            )
        ]
    broad = [r for r in rules if r.rstrip().endswith("ALL") or "nodedesk" not in r]
    if broad:
        checks.append(
            Check("sudoers rule", PROBLEM, f"lets people run any command as {svc_name}: {broad[0]}")
        )
    else:
        checks.append(Check("sudoers rule", OK, rules[0]))
    keeps = [ln for ln in lines if "env_keep" in ln and not ln.strip().startswith("#")]
    unsafe = [v for ln in keeps for v in UNSAFE_ENV_KEEP if v in ln]
    if unsafe:
        checks.append(
            Check(
                "sudoers env_keep",
                PROBLEM,
                f"env_keep passes {unsafe[0]}* to the service account; keep only NODEDESK_USER, "
                "NODEDESK_NOW, NODEDESK_THEME, TERM, COLORTERM, NO_COLOR",
            )
        )
    return checks


def install_checks() -> list[Check]:
    """What sudo runs as the service account (the ``nodedesk`` program and the package it
    loads) must be changeable by root only."""
    import nodedesk

    targets = [Path(nodedesk.__file__).resolve().parent]
    if sys.argv and Path(sys.argv[0]).name == "nodedesk":
        targets.insert(0, Path(sys.argv[0]).resolve())
    for target in targets:
        for path in (target, *target.parents):
            info = path.stat()
            if info.st_uid == 0 and not info.st_mode & 0o022:
                continue
            if path.is_dir() and info.st_uid == 0 and info.st_mode & stat.S_ISVTX:
                continue  # /tmp-like: others may add files, not change this one
            return [
                Check(
                    "installation",
                    PROBLEM,
                    f"{path} can be changed by {_name(info.st_uid)} or others (mode {_mode(info)}); "
                    "install nodedesk root-owned, writable by root only",
                )
            ]
    return [Check("installation", OK, f"{', '.join(map(str, targets))}: root-owned, root-writable only")]


def schema_check(runtime: Runtime) -> Check:
    current = migrate.current_revision(runtime.database.engine)
    head = migrate.head_revision()
    if current == head:
        return Check("schema", OK, f"revision {current} is current")
    return Check(
        "schema", PROBLEM, f"revision {current or '(none)'} is not {head}; run 'nodedesk db upgrade'"
    )


def audit_checks(runtime: Runtime) -> list[Check]:
    """The audit key and anchor beside the data (core/auditseal.py) and the anchor against
    the log's newest entry."""
    try:
        from ... import audit
        from ...auditseal import AuditSeal
    except ImportError:  # pragma: no cover - older layout
        return [Check("audit anchor", SKIPPED, "this nodedesk keeps no audit anchor")]
    seal = getattr(runtime, "seal", None) or AuditSeal(runtime.config.site_dir)
    checks = _private_file(seal.key_path, "audit key", os.geteuid())
    loose = seal.loose_permissions()
    if loose and all(c.status == OK for c in checks):
        checks.append(Check("audit key", PROBLEM, loose))
    anchor = seal.read_anchor()
    with runtime.database.read() as session:
        head = audit.head(session)
    if head is None:
        checks.append(Check("audit anchor", OK, "the activity log is empty"))
    elif anchor is None:
        checks.append(
            Check(
                "audit anchor",
                PROBLEM,
                f"{seal.anchor_path} is missing or damaged; run 'nodedesk audit verify'",
            )
        )
    elif (anchor.seq, anchor.hash) != (head.seq, head.hash):
        checks.append(
            Check(
                "audit anchor",
                PROBLEM,
                f"the log ends at entry {head.seq} but the anchor names entry {anchor.seq}; "
                "run 'nodedesk audit verify'",
            )
        )
    else:
        checks.append(Check("audit anchor", OK, f"matches the newest entry ({head.seq})"))
    return checks


def timeout_checks(runtime: Runtime) -> list[Check]:
    if runtime.database.dialect != "postgresql":
        return []
    checks: list[Check] = []
    with runtime.database.read() as session:
        for name in ("lock_timeout", "statement_timeout"):
            value = str(session.execute(text(f"SHOW {name}")).scalar_one())
            if value in ("0", "0ms", "0s"):
                checks.append(
                    Check(f"PostgreSQL {name}", PROBLEM, "0 (waits for ever); see 'nodedesk settings list'")
                )
            else:
                checks.append(Check(f"PostgreSQL {name}", OK, value))
    return checks


def smtp_check(environ: dict[str, str]) -> Check:
    try:
        from ...mailer import smtp_security_problem
    except ImportError:  # pragma: no cover
        return Check("SMTP security", SKIPPED, "no SMTP support")
    problem = smtp_security_problem(environ)
    if problem:
        return Check("SMTP security", PROBLEM, problem)
    if not environ.get("NODEDESK_SMTP_HOST", "").strip():
        return Check("SMTP security", OK, "not configured in this environment (no notices are sent from it)")
    return Check(
        "SMTP security",
        OK,
        f"{environ.get('NODEDESK_SMTP_SECURITY', 'starttls')} to {environ['NODEDESK_SMTP_HOST']}",
    )


def require_admin(runtime: Runtime) -> None:
    with runtime.database.read() as session:
        actor = runtime.actor(session)
    if "admin" not in actor.roles:
        raise PermissionDenied(f"{actor.username} may not run doctor (needs role admin)", field="doctor")


def _guarded(name: str, step: Callable[[], list[Check]]) -> list[Check]:
    """A check that fails unexpectedly is reported as a problem, not a crash of the report."""
    try:
        return step()
    except Exception as exc:  # every failure becomes one report line, not a crash
        return [Check(name, PROBLEM, f"could not be checked: {type(exc).__name__}: {exc}")]


def run(runtime: Runtime) -> list[Check]:
    """Every check, in a fixed order. The caller must be an admin (:func:`require_admin`)."""
    config = runtime.config
    svc = deploy.storage_owner(config.database_url, config.url_source)
    svc_name = _name(svc) if svc is not None else "nodedesk"
    checks: list[Check] = []
    checks += _guarded("database", lambda: storage_checks(runtime))
    checks += _guarded("service account", lambda: service_account_checks(runtime))
    if svc:  # root needs no sudo rule (and has a problem reported above)
        checks += _guarded("sudoers rule", lambda: sudoers_checks(runtime, svc_name))
    checks += _guarded("installation", install_checks)
    checks += _guarded("schema", lambda: [schema_check(runtime)])
    checks += _guarded("audit anchor", lambda: audit_checks(runtime))
    checks += _guarded("PostgreSQL timeouts", lambda: timeout_checks(runtime))
    checks += _guarded("SMTP security", lambda: [smtp_check(config.environ)])
    return checks
