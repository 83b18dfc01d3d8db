"""Bad input: hostile import directories through ``nodedesk import``.

An export of the demo centre is mutated one way per example (a field with a hostile value or the
wrong type, an unknown key, a missing field or reference, a local time without offset in a DST
gap or overlap, a corrupted or non-UTF-8 file, a broken manifest) and imported into the demo site.
Contract: exit 0, 1 or 2, never a traceback, one-line errors, and a refused import writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.conftest import InProcessCli, Outcome, db_digest, fuzz_examples
from tests.hardening.test_cli_fuzz import check_outcome

# Small kinds that reference others, so a merge import of one of them exercises reference resolution.
KINDS = [
    "users",
    "node_types",
    "nodes",
    "maintenance_windows",
    "projects",
    "cost_split_versions",
    "rates",
    "reservations",
    "fee_subscriptions",
    "outages",
    "settings",
]

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    float("1e308"),
    [],
    {},
    [1, 2],
    {"a": 1},
    "",
    "x" * 200_000,
    "\x00",
    "a\x00b",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b[2J",
    "[bold red]x[/]",
    "\u202eevil",
    '=HYPERLINK("http://x")',
    "2026-02-30T10:00:00Z",  # impossible date
    "2026-02-30",
    "2026-03-08T02:30:00",  # local time in the DST gap, no offset
    "2026-11-01T01:30:00",  # ambiguous local time, no offset
    "2026-11-01T01:30:00-04:00",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "not-a-uuid",
    ["no-such-key"],
    "no-such-node",
    "-5",
    "NaN",
    "1e999",
]


@pytest.fixture(scope="module")
def export_dir(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("export_home")
    db = home / "source.db"
    shutil.copy(demo_template, db)
    target = home / "export"
    outcome = InProcessCli(f"sqlite:///{db}", home).run(["export", str(target), "--no-timestamp"])
    assert outcome.rc == 0, outcome.describe()
    return target


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8", errors="surrogatepass")


@st.composite
def mutation(draw: st.DrawFn, source: Path) -> tuple[str, str, Any]:
    """(kind, how, detail): one hostile change to an export."""
    kind = draw(st.sampled_from(KINDS))
    records = _load(source / f"{kind}.json")["records"]
    how = draw(
        st.sampled_from(
            [
                "field",
                "field",
                "field",
                "unknown_key",
                "drop_field",
                "natural_key",
                "raw",
                "records",
                "manifest",
            ]
        )
    )
    index = draw(st.integers(0, max(len(records) - 1, 0)))
    if how in ("field", "drop_field"):
        fields = sorted(records[index]["fields"]) if records else ["title"]
        name = draw(st.sampled_from(fields))
        value = draw(st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=30)))
        return kind, how, (index, name, value)
    if how == "unknown_key":
        where = draw(st.sampled_from(["fields", "record", "file"]))
        return kind, how, (index, where)
    if how == "natural_key":
        return kind, how, (index, draw(st.sampled_from([[], [None], ["\x00"], "flat", [1, 2, 3], [{}]])))
    if how == "raw":
        return (
            kind,
            how,
            draw(
                st.sampled_from(
                    [
                        b"",
                        b"{",
                        b"[]",
                        b"null",
                        b'{"model": 1}',
                        b"\xff\xfe\x00garbage",
                        b'{"records": "x"}',
                        b"\x00" * 10,
                    ]
                )
            ),
        )
    if how == "records":
        return (
            kind,
            how,
            draw(st.sampled_from([None, {}, [1], [[]], [{"natural_key": ["x"]}], [{"fields": {}}]])),
        )
    key = draw(
        st.sampled_from(["format_version", "schema_revision", "counts", "files", "kinds", "created_at"])
    )
    return kind, how, (key, draw(st.sampled_from(["99.0.0", "1.9.0", None, 7, [], {}, "\x1b[31m", "9999"])))


def working_copy(source: Path, target: Path) -> Path:
    """The export, as hard links (cheap; an import refuses symbolic links); :func:`apply`
    replaces the files it changes, never writing through a link."""
    target.mkdir()
    for item in source.iterdir():
        os.link(item, target / item.name)
    return target


def _replace(path: Path) -> Path:
    if path.exists() and path.stat().st_nlink > 1:
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
    return path


def apply(directory: Path, kind: str, how: str, detail: Any) -> None:
    path = _replace(directory / f"{kind}.json")
    _replace(directory / "manifest.json")
    if how == "raw":
        path.write_bytes(detail)
        return
    if how == "manifest":
        manifest = _load(directory / "manifest.json")
        key, value = detail
        manifest[key] = value
        _dump(directory / "manifest.json", manifest)
        return
    doc = _load(path)
    records = doc["records"]
    if how == "records":
        doc["records"] = detail
    elif not records:
        doc["unexpected"] = True
    elif how == "field":
        index, name, value = detail
        records[index]["fields"][name] = value
    elif how == "drop_field":
        index, name, _ = detail
        records[index]["fields"].pop(name, None)
    elif how == "unknown_key":
        index, where = detail
        {"fields": records[index]["fields"], "record": records[index], "file": doc}[where]["zz_unknown"] = 1
    elif how == "natural_key":
        index, key = detail
        records[index]["natural_key"] = key
    _dump(path, doc)


def import_checked(site: InProcessCli, directory: Path, *extra: str) -> Outcome:
    before = db_digest(site.database_url)
    outcome = site.run(["import", str(directory), "--no-verify-checksum", *extra])
    after = db_digest(site.database_url)
    check_outcome(outcome, before, after if outcome.rc else before)
    return outcome


def test_unchanged_export_imports_cleanly(demo_site: InProcessCli, export_dir: Path) -> None:
    before = db_digest(demo_site.database_url)
    outcome = demo_site.run(["import", str(export_dir), "--models", "maintenance_windows,reservations"])
    assert outcome.rc == 0, outcome.describe()
    assert db_digest(demo_site.database_url) == before  # re-importing the same export changes nothing


def test_hostile_import_directories(demo_site: InProcessCli, export_dir: Path, tmp_path: Path) -> None:
    counter = iter(range(10**6))

    @settings(max_examples=fuzz_examples(40), suppress_health_check=list(HealthCheck), database=None)
    @given(change=mutation(export_dir))
    def prop(change: tuple[str, str, Any]) -> None:
        kind, how, detail = change
        work = working_copy(export_dir, tmp_path / f"imp{next(counter)}")
        apply(work, kind, how, detail)
        import_checked(demo_site, work, "--models", kind)

    prop()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("start_at", "2026-03-08T02:30:00", "offset"),
        ("start_at", "2026-11-01T01:30:00", "offset"),
        ("start_at", "2026-02-30T10:00:00Z", "instant"),
        ("start_at", "0001-01-01T00:00:00+05:00", "start_at"),
        ("title", "bad\x00title", "title"),
        ("title", "x" * 300, "title"),
        ("scope_nodes", ["node-that-never-was"], "node-that-never-was"),
    ],
)
def test_specific_bad_window_records_are_refused(
    demo_site: InProcessCli, export_dir: Path, tmp_path: Path, field: str, value: Any, message: str
) -> None:
    """Local times without an offset (DST gap or overlap), impossible dates, bad text, missing refs."""
    work = working_copy(export_dir, tmp_path / "imp")
    _replace(work / "maintenance_windows.json")
    doc = _load(work / "maintenance_windows.json")
    doc["records"][0]["fields"][field] = value
    _dump(work / "maintenance_windows.json", doc)
    outcome = import_checked(demo_site, work, "--models", "maintenance_windows")
    assert outcome.rc == 1, outcome.describe()
    assert message in outcome.stderr, outcome.describe()


# Bugs the fuzzer found in imports (internal errors, raw escapes or a broken site before the fixes).
IMPORT_REGRESSIONS = [
    ("settings", "field", (1, "value", "0001-01-01T00:00:00+05:00")),  # site_timezone garbage was stored
    ("users", "manifest", ("files", [])),  # kinds without file entries: AssertionError
    ("users", "manifest", ("counts", "99.0.0")),  # a string where a map belongs: AttributeError
    ("maintenance_windows", "field", (0, "title", "bad\x00title")),  # NUL/ESC stored unchecked
    ("maintenance_windows", "field", (0, "start_at", "0001-01-01T00:00:00+05:00")),  # OverflowError
]


@pytest.mark.parametrize(("kind", "how", "detail"), IMPORT_REGRESSIONS, ids=range(len(IMPORT_REGRESSIONS)))
def test_import_regressions(
    demo_site: InProcessCli, export_dir: Path, tmp_path: Path, kind: str, how: str, detail: Any
) -> None:
    work = working_copy(export_dir, tmp_path / "imp")
    apply(work, kind, how, detail)
    outcome = import_checked(demo_site, work, "--models", kind)
    assert outcome.rc == 1, outcome.describe()


def test_manifest_words_are_shown_inert(demo_site: InProcessCli, export_dir: Path, tmp_path: Path) -> None:
    work = working_copy(export_dir, tmp_path / "imp")
    apply(work, "users", "manifest", ("created_at", "\x1b]0;owned\x07[bold]x"))
    outcome = import_checked(demo_site, work, "--models", "users")  # checks: no raw escape reaches stdout
    assert outcome.rc == 0 and "\\x1b]0;owned\\x07" in outcome.stdout
