"""The shared-host rules: who is acting, where the database is, and whether it is private.

See help/security.md. In short:

- The acting login is the account of the effective uid (``pwd``), never ``LOGNAME``/``USER``.
- A site is owned by one account, the *service account*: the owner of the SQLite database's
  directory, or of the file the PostgreSQL URL was read from. Users run nodedesk through sudo as
  that account; then, and only then, the acting login is ``SUDO_USER``, trusted when the
  effective uid is the service account, the direct parent process is ``sudo`` running with
  effective uid 0 (read from ``/proc``; a user cannot fake either), and ``SUDO_UID`` is
  ``SUDO_USER``'s uid and the uid sudo was started by.
- The database URL: ``NODEDESK_DATABASE_URL``, else the file ``database-url`` in the acting
  account's config directory (``$XDG_CONFIG_HOME/nodedesk`` or ``~/.config/nodedesk``, the home
  read from ``pwd``, not ``$HOME``, because sudo resets the environment), else a SQLite file in
  ``$XDG_DATA_HOME/nodedesk`` or ``~/.local/share/nodedesk``.
- A database, its directory or the URL file that other users can read or write is refused with
  the chmod that fixes it.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .errors import PermissionDenied, ValidationError

URL_FILE_NAME = "database-url"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
URL_FIELD = "NODEDESK_DATABASE_URL"


def login_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        raise PermissionDenied(f"uid {uid} has no account name on this host") from None


def home_of(uid: int) -> Path:
    """The account's home from the password database (``$HOME`` may be anyone's after sudo)."""
    try:
        return Path(pwd.getpwuid(uid).pw_dir)
    except KeyError:
        return Path("/nonexistent")


def data_dir(environ: dict[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(home_of(os.geteuid()) / ".local" / "share")
    return Path(base) / "nodedesk"


def config_dir(environ: dict[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(home_of(os.geteuid()) / ".config")
    return Path(base) / "nodedesk"


# --- the database URL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UrlChoice:
    url: str
    source: str  # "environment", "default" or the URL file's path
    problem: str | None = None  # a one-line refusal to raise when the URL is used


def choose_url(environ: dict[str, str]) -> UrlChoice:
    """Where the database is; never raises (problems are reported when the URL is used)."""
    url = environ.get(URL_FIELD, "").strip()
    if url:
        return UrlChoice(url, "environment")
    path = config_dir(environ) / URL_FILE_NAME
    try:
        info = path.stat()
    except OSError:
        return UrlChoice(f"sqlite:///{data_dir(environ) / 'nodedesk.db'}", "default")
    problem = _private_file_problem(path, info, what="database-url file")
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        url = next((line for line in lines if not line.startswith("#")), "")
    except (OSError, UnicodeError) as exc:
        return UrlChoice("", str(path), f"{path}: cannot be read ({type(exc).__name__})")
    if not url and problem is None:
        problem = f"{path}: holds no database URL"
    return UrlChoice(url, str(path), problem)


def _private_file_problem(path: Path, info: os.stat_result, *, what: str) -> str | None:
    if info.st_uid != os.geteuid():
        return f"{what} {path} belongs to uid {info.st_uid}, not to uid {os.geteuid()}"
    if info.st_mode & 0o077:
        return f"{what} {path} is open to other users (mode {_mode(info)}); run 'chmod 600 {path}'"
    return None


def check_url(url: str, *, field: str = URL_FIELD) -> str:
    """The URL, if nodedesk can use it; otherwise one line saying what it accepts."""
    hint = "use sqlite:///PATH or postgresql://USER@HOST/DATABASE"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValidationError(f"not a database URL; {hint}", field=field) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ValidationError(f"{backend} databases are not supported; {hint}", field=field)
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValidationError(f"a SQLite URL needs a file path; {hint}", field=field)
    return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().absolute()


# --- private storage ----------------------------------------------------------------------------


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _reachable(directory: Path) -> bool:
    """Whether users other than the owner may pass through every directory down to this one.

    Conservative: a directory with group or other execute counts as passable."""
    for part in [directory, *directory.parents]:
        try:
            if not part.stat().st_mode & 0o011:
                return False
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class Exposure:
    path: Path
    mode: str
    fix: str

    def line(self) -> str:
        kind = "directory" if self.fix.startswith("chmod 700") else "file"
        return f"{kind} {self.path} is open to other users (mode {self.mode}); run '{self.fix}'"


def sqlite_exposures(db: Path) -> list[Exposure]:
    """What other users could read or write: the directory, the database and its WAL files."""
    found: list[Exposure] = []
    directory = db.parent
    if not _reachable(directory.parent) and directory.parent != directory:
        return found
    try:
        info = directory.stat()
    except OSError:
        return found
    if info.st_mode & 0o066:
        found.append(Exposure(directory, _mode(info), f"chmod 700 {directory}"))
    if not info.st_mode & 0o011:
        return found
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        try:
            info = path.stat()
        except OSError:
            continue
        if info.st_mode & 0o066:
            found.append(Exposure(path, _mode(info), f"chmod 600 {path}"))
    return found


def require_private(url: str) -> None:
    """Refuse a SQLite database other users can read or write (one line, with the fix)."""
    db = sqlite_path(url)
    if db is None:
        return
    exposures = sqlite_exposures(db)
    if exposures:
        raise PermissionDenied(exposures[0].line(), field="database")


def database_missing(url: str) -> bool:
    """Whether the SQLite file does not exist yet; one line if this account cannot reach it."""
    db = sqlite_path(url)
    if db is None:
        return False
    try:
        db.stat()
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise PermissionDenied(
            f"cannot open {db} ({exc.strerror.lower() if exc.strerror else 'no access'}); on a "
            "shared host run nodedesk through sudo as the service account (see 'nodedesk help "
            "security')",
            field="database",
        ) from None
    return False


# --- who is acting ------------------------------------------------------------------------------


def storage_owner(url: str, source: str) -> int | None:
    """The service account's uid: the owner of the SQLite database's directory (or its nearest
    existing ancestor, before init), or of the file the URL was read from."""
    db = sqlite_path(url)
    if db is not None:
        for part in [db.parent, *db.parent.parents]:
            try:
                return part.stat().st_uid
            except OSError:
                continue
        return None
    if source not in ("environment", "default"):
        try:
            return Path(source).stat().st_uid
        except OSError:
            return None
    return None


def _status_field(pid: int, name: str) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def sudo_parent_uid() -> int | None:
    """The real uid of the direct parent when it is ``sudo`` running with effective uid 0 (a
    setuid-root sudo; a user's look-alike named "sudo" has the user's uid); else None."""
    ppid = os.getppid()
    try:
        comm = Path(f"/proc/{ppid}/comm").read_text().strip()
    except OSError:
        return None
    uids = (_status_field(ppid, "Uid") or "").split()
    if comm != "sudo" or len(uids) < 2 or uids[1] != "0":
        return None
    return int(uids[0])


def acting_login(environ: dict[str, str], service_uid: int | None) -> str:
    """The login the kernel vouches for (see the module docstring)."""
    euid = os.geteuid()
    name = login_name(euid)
    claimed = environ.get("SUDO_USER", "").strip()
    if not claimed or service_uid is None or euid != service_uid:
        return name
    caller = sudo_parent_uid()
    if caller is None:
        return name
    try:
        entry = pwd.getpwnam(claimed)
    except KeyError:
        raise PermissionDenied(f"SUDO_USER {claimed!r} is not an account on this host") from None
    # sudo keeps the caller's real uid; a monitor process (use_pty) runs as root throughout.
    if str(entry.pw_uid) != environ.get("SUDO_UID", "").strip() or caller not in (0, entry.pw_uid):
        raise PermissionDenied(
            f"SUDO_USER {claimed!r} does not match SUDO_UID; run nodedesk through sudo as yourself"
        )
    return claimed
