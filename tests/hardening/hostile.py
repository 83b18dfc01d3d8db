"""Hostile and plausible argument values for fuzzing the CLI (hypothesis strategies)."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

# Python decodes undecodable argv bytes with surrogateescape: b"\xff" arrives as "\udcff".
INVALID_UTF8 = b"caf\xe9 \xff\xfe".decode("utf-8", "surrogateescape")

DATES = [
    "2026-02-30",  # impossible date
    "2026-02-30 10:00",
    "2026-13-01",
    "2026-02-15 25:00",
    "2026-03-08 02:30",  # does not exist in America/New_York (spring forward)
    "2026-03-08T02:30:00",
    "2026-11-01 01:30",  # ambiguous in America/New_York (fall back)
    "2026-11-01T01:30-04:00",
    "2026-11-01T01:30-05:00",
    "9999-12-31 23:59",
    "0001-01-01",
    "0001-01-01 00:00",
    "1969-12-31 23:59",
    "2026-02-15T10:00:00Z",
    "2026-02-15 10:00+99:00",
    "2026-02",
    "2026-00",
    "2026-13",
    "02/15/2026",
]

HOSTILE = [
    "",
    " ",
    "-",
    "--",
    "-1",
    "0",
    "99999999999999999999999",
    "3000000000",
    "²⁰²⁶-⁰²",  # digits str.isdigit() accepts and int() does not
    "#١٢٣",
    "1e400",
    "NaN",
    "inf",
    "-0.000",
    "0.0000001",
    "x" * 100_000,
    "é" * 5_000,
    "A" * 201,
    "w" * 65,
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b]0;owned\x07",
    "line\r\nbreak",
    "\x7f\x9b31m",
    "\u202egnp.exe",
    "\u2066iso\u2069",
    "\ufeffbom",
    INVALID_UTF8,
    "[bold red]x[/]",
    "[link=file:///etc/passwd]x[/link]",
    "[/]",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "+1-1",
    "../../etc/passwd",
    "/",
    "/dev/null",
    "~",
    "%s%n%x",
    "{}",
    "'; DROP TABLE maintenance_windows; --",
    "NULL",
    "--json",
    "-h",
    *DATES,
]

PLAUSIBLE: dict[str, list[str]] = {
    "node": ["node2433", "node2434", "node1001", "node9999"],
    "type": ["A100", "EPYC", "B200"],
    "node_type": ["A100", "H100"],
    "project": ["Climate Ensemble Modelling", "Protein Folding at Scale", "1", "No Such Project"],
    "charge_to": ["Climate Ensemble Modelling", "Genomics Variant Calling"],
    "title": ["Kernel patch", "Climate Ensemble Modelling", "Fuzzed title"],
    "user": ["viewer", "apatel", "nobody"],
    "owner": ["sbrown", "viewer"],
    "by": ["apatel", "viewer"],
    "member": ["viewer", "hsato"],
    "name": ["node2433", "viewer", "fuzzuser", "B200"],
    "new_name": ["B200", "A100"],
    "id": ["1", "2", "6", "9", "999"],
    "reservation_id": ["1", "73"],
    "start": ["2026-02-20 08:00", "2026-03-20 08:00", "2026-02-15 05:00"],
    "end": ["2026-02-20 12:00", "2026-03-21 08:00", "2026-02-15 11:00"],
    "etr": ["2026-02-16 07:00", "2026-02-15 09:00"],
    "start_date": ["2026-02-20", "2026-03-07", "2026-10-31"],
    "from_": ["2026-02-01", "2026-03-01 00:00"],
    "to": ["2026-03-01", "2026-04-01"],
    "on": ["2026-02-15", "2026-03-01"],
    "period": ["2026-02", "2026-01", "2025-12"],
    "sku": ["NODE_A100", "MAINT_STANDARD", "NOPE"],
    "amount": ["8.00", "0", "12.345678"],
    "blocks": ["2", "14", "15"],
    "role": ["viewer", "rental_manager", "owner", "member"],
    "parts": ["ACC-1=60", "ACC-2=40", "ACC-3=100"],
    "split": ["ACC-1=60", "ACC-2=40"],
    "hours": ["12.5", "0", "-3"],
    "directory": ["backup1", "backup2"],
    "topic": ["windows", "overview", "keys", "nope"],
    "timezone": ["America/New_York", "Europe/Berlin", "Mars/Olympus", "EST"],
    "currency": ["USD", "EUR", "DOLLARS"],
    "reason": ["hardware swap", "fix"],
    "limit": ["5", "1"],
    "expected_version": ["1", "2"],
    "models": ["maintenance_windows", "nope"],
    "exclude": ["users"],
    "action": ["window.created"],
    "actor": ["root", "viewer"],
    "target": ["window", "reservation"],
    "search": ["patch", "%"],
    "email": ["a@example.org", "not-an-email"],
    "full_name": ["Jo Doe"],
    "description": ["Reboot into 6.12.", "line1\nline2"],
    "notes": ["note"],
    "source_name": ["fuzz"],
    "for_": ["apatel"],
}

_any_text = st.text(max_size=40)
_surrogates = st.lists(st.integers(0xDC80, 0xDCFF), min_size=1, max_size=4).map(
    lambda codes: "x" + "".join(chr(c) for c in codes)
)
_controls = st.lists(
    st.integers(0, 0x9F).filter(lambda c: unicodedata.category(chr(c)) == "Cc"), max_size=4
).map(lambda codes: "t" + "".join(chr(c) for c in codes) + "t")


def value_for(names: tuple[str, ...], choices: tuple[str, ...] | None) -> st.SearchStrategy[str]:
    """Mostly plausible for the argument (so deeper code runs), often hostile. ``names`` are the
    argument's dest and option names (``new_title``, ``title``)."""
    options: list[st.SearchStrategy[str]] = [st.sampled_from(HOSTILE), _any_text, _surrogates, _controls]
    plausible = list(choices or ())
    for name in names:
        plausible += PLAUSIBLE.get(name, [])
    if plausible:
        options = [st.sampled_from(plausible), st.sampled_from(plausible), *options]
    return st.one_of(*options)
