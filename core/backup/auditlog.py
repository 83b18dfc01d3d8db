"""The activity log's seal in a backup: the audit key and the head travel with the export.

An export of the activity log writes the site's ``audit.key`` (mode 0600) beside the data files
and the log's head (last entry number, its hash and the key's fingerprint) into the manifest's
``audit`` section. An import checks every entry of the backup's log with that key (or this
site's own key when it already holds the same one), and refuses a log that ends before the
head the manifest names (cut) or differs from it there (rewritten). A restore into an empty
database makes the backup's key this site's key and its head the anchor. What that means for
who can forge a backup is in help/audit.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .. import audit
from ..auditseal import KEY_FILE, AuditSeal, key_id, parse_key
from ..errors import ValidationError
from ..models import ActivityEntry

LOG_KIND = "activity_log"


def export_section(seal: AuditSeal, conn: Connection, work: Path | None) -> dict[str, Any]:
    """The manifest's ``audit`` section, read in the export's snapshot; writes the key file."""
    row = conn.execute(
        select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
    ).first()
    key = seal.key()
    if work is not None and key is not None:
        fd = os.open(work / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
    return {
        "seq": row[0] if row else 0,
        "hash": row[1] if row else audit.GENESIS_HASH,
        "key_id": key_id(key) if key else "",
        "key_file": KEY_FILE if key else "",
        "scheme": audit.KEYED_SCHEME,
    }


def parse_section(doc: Any) -> dict[str, Any] | None:
    """Shape-check a manifest's ``audit`` section (None when the export has none)."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise ValueError("audit must be an object")
    return {
        "seq": int(doc["seq"]),
        "hash": str(doc["hash"]),
        "key_id": str(doc.get("key_id", "")),
        "key_file": str(doc.get("key_file", "")),
        "scheme": str(doc.get("scheme", audit.KEYED_SCHEME)),
    }


def _refuse(message: str, field: str = LOG_KIND) -> ValidationError:
    return ValidationError(f"{message}; nothing was imported", field=field)


@dataclass
class BackupSeal:
    """How the backup's log is checked, and which key the site keeps after the import."""

    head: dict[str, Any] | None  # the manifest's audit section
    key: bytes | None  # the key entries are checked with
    backup_key: bytes | None  # the key file the backup carries
    restore: bool

    def checker(self, key_path: str) -> audit.ChainChecker:
        return audit.ChainChecker(self.key, key_path=key_path)

    def check_head(self, last_seq: int, hash_at_head: str | None, keyed: bool) -> None:
        """The imported log must reach the head the manifest names, and match it there; a log
        exported with a key holds keyed entries (an unkeyed one was re-hashed without it)."""
        if self.head is None:
            return
        seq = self.head["seq"]
        if seq and self.head["key_id"] and not keyed:
            raise _refuse(
                "activity_log.json holds no keyed entry although the export was sealed with a key: "
                "the backup's log was re-hashed without the key"
            )
        if last_seq < seq:
            raise _refuse(
                f"activity_log.json ends at entry #{last_seq} but the export's manifest records "
                f"#{seq}: the backup's log was truncated"
            )
        if seq and hash_at_head != self.head["hash"]:
            raise _refuse(
                f"activity_log.json entry #{seq} does not match the manifest's head: the backup's log "
                "was rewritten"
            )

    def seal_for_restore(self, site: AuditSeal, *, dry_run: bool) -> tuple[AuditSeal, str | None]:
        """The seal the restored site writes with: the backup's key becomes the site's (a key
        already here that differs is kept beside it). Returns the replaced key's fingerprint."""
        if not self.restore or self.backup_key is None:
            return site, None
        if dry_run:
            return site.with_key(self.backup_key), None
        return site, site.install_key(self.backup_key)


def read_backup_seal(
    directory: Path, head: dict[str, Any] | None, site: AuditSeal, *, restore: bool
) -> BackupSeal:
    """Read and match the backup's key file; pick the key its log is checked with."""
    backup_key: bytes | None = None
    path = directory / KEY_FILE
    if head is not None and head.get("key_id"):
        try:
            backup_key = parse_key(path.read_text("ascii"))
        except FileNotFoundError:
            raise _refuse(
                f"{KEY_FILE} is missing from the export, so its activity log cannot be checked", KEY_FILE
            ) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise _refuse(f"{KEY_FILE} cannot be read ({exc})", KEY_FILE) from None
        if key_id(backup_key) != head["key_id"]:
            raise _refuse(f"{KEY_FILE} is not the key the export's manifest names (replaced?)", KEY_FILE)
    site_key = site.key()
    if restore:
        key = backup_key or site_key
    else:
        if backup_key is not None and site_key is not None and backup_key != site_key:
            raise _refuse(
                "the export's activity log was sealed with another site's audit key (restore into an "
                "empty database, or use --exclude activity_log)"
            )
        key = site_key or backup_key
    return BackupSeal(head, key, backup_key, restore)


def normalize(values: dict[str, Any]) -> None:
    """Entries from exports made before the log was keyed lack the newer fields."""
    values.setdefault("hash_scheme", audit.LEGACY_SCHEME)
    values.setdefault("recorded_at", None)
    values.setdefault("target_uuid", "")
