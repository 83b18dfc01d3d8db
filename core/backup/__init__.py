"""Backup and restore: lossless, verifiable, atomic export and import of the whole database.

See ``help/backup.md`` for users and ``kinds.py`` for how to add an entity kind.
"""

from .compat import COMPATIBLE, INCOMPATIBLE, WARNINGS, CompatReport, check_import
from .exporter import ExportResult, export_backup
from .importer import MODES, ImportResult, KindCounts, RecordError, import_backup
from .kinds import registry

__all__ = [
    "COMPATIBLE",
    "INCOMPATIBLE",
    "MODES",
    "WARNINGS",
    "CompatReport",
    "ExportResult",
    "ImportResult",
    "KindCounts",
    "RecordError",
    "check_import",
    "export_backup",
    "import_backup",
    "registry",
]
