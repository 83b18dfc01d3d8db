"""Hostile user text planted in a site, for the terminal-safety tests.

Services refuse control characters on input, so escape sequences reach the database only through
older versions or direct SQL; we plant them with SQL to prove the display is inert anyway. Markup,
bidi controls and very long words are accepted by the services and planted the same way.
"""

from __future__ import annotations

import sqlite3
import unicodedata

ESC_TITLE = (
    "\x1b[31mRED\x1b[0m \x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b]0;owned\x07 [bold red]MARKUP[/] \u202eTXT.EXE"
)
LONG_WORD = "W" * 180
DESCRIPTION = f"line one\x1b[2J\n[link=file:///etc/passwd]click[/link] \u2066iso\u2069 {LONG_WORD}\x9b31m"
CSV_TITLE = '=HYPERLINK("http://evil","x")'

# (table, column, WHERE clause): every user-text column the listings show.
PLANTS = [
    ("maintenance_windows", "title", ESC_TITLE),
    ("maintenance_windows", "description", DESCRIPTION),
    ("outages", "title", ESC_TITLE),
    ("outages", "description", DESCRIPTION),
    ("reservations", "notes", DESCRIPTION),
    ("users", "full_name", ESC_TITLE[:150]),
    ("node_types", "description", DESCRIPTION),
    ("nodes", "description", DESCRIPTION),
]


def plant(db_path: str) -> None:
    conn = sqlite3.connect(db_path)
    try:
        for table, column, value in PLANTS:
            conn.execute(f'UPDATE "{table}" SET "{column}" = ?', (value,))
        # Project titles are unique: give each its own hostile title.
        for (pid,) in conn.execute("SELECT id FROM projects").fetchall():
            title = CSV_TITLE if pid == 2 else f"[b]P{pid}[/b] \u202e{LONG_WORD[:60]}"
            conn.execute(
                "UPDATE projects SET title = ?, description = ? WHERE id = ?", (title, DESCRIPTION, pid)
            )
        conn.commit()
    finally:
        conn.close()


def bad_chars(text: str, *, allow: str = "\n") -> list[str]:
    """Characters that must never reach a terminal raw."""
    return sorted(
        {repr(ch) for ch in text if ch not in allow and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co")}
    )
