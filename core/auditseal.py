"""The activity log's seal: the per-site audit key and the head anchor, kept outside the database.

Both live in the site's private directory (mode 0700, see :mod:`.config`):

- ``audit.key`` (mode 0600): 32 random bytes, hex. Every new log entry carries an HMAC-SHA256 of
  its fields under this key, so someone who can write the database but cannot read this file
  cannot forge, re-hash or re-order entries without ``nodedesk audit verify`` noticing.
- ``audit.anchor``: the log's head (last entry number and its hash) after each committed write.
  It is only ever advanced, under a file lock, and written atomically. Deleting entries at the
  end of the log (which leaves a chain that links up) shows as "fewer entries than the anchor".

What this protects and what it does not is explained in help/audit.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import ValidationError

KEY_FILE = "audit.key"
ANCHOR_FILE = "audit.anchor"
LOCK_FILE = "audit.anchor.lock"


def key_id(key: bytes) -> str:
    """A key's public fingerprint (SHA-256 of the key bytes): names a key without revealing it."""
    return hashlib.sha256(key).hexdigest()


def parse_key(text: str) -> bytes:
    raw = bytes.fromhex(text.strip())
    if len(raw) < 32:
        raise ValueError("shorter than 32 bytes")
    return raw


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    key_id: str = ""

    def to_json(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash, "key_id": self.key_id}


def missing_key_message(path: Path) -> str:
    return (
        f"the audit key {path} is missing, so no activity can be recorded; restore it from the "
        f"service account's saved copy or from a backup export (its {KEY_FILE}, mode 0600); "
        "see 'nodedesk help audit'"
    )


class AuditSeal:
    """Key and anchor of one site, found in ``directory``. Cheap to build; reads files lazily."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).expanduser()
        self._key: bytes | None = None
        self.assumed = False  # True: a default, not known to be this site's own

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE

    @property
    def anchor_path(self) -> Path:
        return self.directory / ANCHOR_FILE

    # -- the key --------------------------------------------------------------------------
    def _ensure_dir(self) -> None:
        if not self.directory.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)

    def key(self) -> bytes | None:
        """The key, or None when the file does not exist. An unreadable key is an error."""
        if self._key is None:
            try:
                text = self.key_path.read_text("ascii")
            except FileNotFoundError:
                return None
            except (OSError, UnicodeDecodeError) as exc:
                raise ValidationError(
                    f"the audit key {self.key_path} cannot be read ({exc})", field="audit_key"
                ) from None
            try:
                self._key = parse_key(text)
            except ValueError as exc:
                raise ValidationError(
                    f"the audit key {self.key_path} is damaged ({exc}); restore it from a backup export",
                    field="audit_key",
                ) from None
        return self._key

    def require_key(self) -> bytes:
        key = self.key()
        if key is None:
            raise ValidationError(missing_key_message(self.key_path), field="audit_key")
        return key

    def create_key(self) -> bytes:
        """Create the key if there is none (0600 in a 0700 directory); return the key in force."""
        self._ensure_dir()
        if self.directory.stat().st_mode & 0o077:
            # the site's private dir is the service account's only; if it is not ours to change,
            # 'audit verify' warns about it
            with contextlib.suppress(OSError):
                os.chmod(self.directory, 0o700)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self.require_key()  # another process made it first
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._key = key
        return key

    def install_key(self, key: bytes) -> str | None:
        """Make ``key`` this site's key (a restore adopts the backup's). A different key already
        here is kept beside it as ``audit.key.<fingerprint>``; returns that key's fingerprint."""
        self._ensure_dir()
        current = self.key()
        if current == key:
            return None
        replaced = None
        if current is not None:
            replaced = key_id(current)
            os.replace(self.key_path, self.directory / f"{KEY_FILE}.{replaced[:16]}")
        fd, tmp = tempfile.mkstemp(prefix=".audit.key.", dir=self.directory)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(key.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.key_path)
        self._key = key
        return replaced

    def with_key(self, key: bytes) -> AuditSeal:
        """This site's seal holding ``key`` in memory only (a dry-run restore)."""
        other = AuditSeal(self.directory)
        other._key = key
        return other

    def loose_permissions(self) -> str | None:
        """A warning when others than the owner can read the key or enter its directory."""
        try:
            if self.key_path.stat().st_mode & 0o077:
                return f"{self.key_path} is readable by other accounts (should be mode 0600)"
            if self.directory.stat().st_mode & 0o077:
                return f"{self.directory} is open to other accounts (should be mode 0700)"
        except FileNotFoundError:
            return None
        return None

    # -- the anchor -----------------------------------------------------------------------
    def read_anchor(self) -> Anchor | None:
        try:
            doc = json.loads(self.anchor_path.read_text("utf-8"))
            return Anchor(int(doc["seq"]), str(doc["hash"]), str(doc.get("key_id", "")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged anchor proves nothing; report it as absent (verify says so).
            return None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dir()
        with open(self.directory / LOCK_FILE, "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _write_anchor(self, anchor: Anchor) -> None:
        doc = anchor.to_json() | {"written_at": datetime.now(UTC).isoformat()}
        fd, tmp = tempfile.mkstemp(prefix=".audit.anchor.", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(doc) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.anchor_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def advance(self, seq: int, hash_: str) -> bool:
        """Record ``seq``/``hash_`` as the head unless the anchor is already at or past it."""
        with self._locked():
            current = self.read_anchor()
            if current is not None and current.seq >= seq:
                return False
            key = self.key()
            self._write_anchor(Anchor(seq, hash_, key_id(key) if key else ""))
            return True

    def reset(self, seq: int, hash_: str) -> None:
        """Set the head unconditionally: only a fresh ``init`` or a restore may move it back."""
        with self._locked():
            key = self.key()
            self._write_anchor(Anchor(seq, hash_, key_id(key) if key else ""))

    def remove_anchor(self) -> None:
        with self._locked():
            self.anchor_path.unlink(missing_ok=True)
