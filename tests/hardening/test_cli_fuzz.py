"""Bad input: every CLI command, fuzzed with hostile arguments.

Commands are enumerated from the real argparse tree (:mod:`tests.hardening.argtree`), so a command
added later is fuzzed without touching this file. Each example runs ``main(argv)`` in-process on a
copy of the demo centre and checks: exit code 0, 1 or 2 (3 is an internal error), never a
traceback, an error is one line, output holds no control/bidi characters, and a refused command
changed nothing (digest of every table before and after).
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.argtree import Leaf, leaves
from tests.hardening.conftest import InProcessCli, Outcome, db_digest, fuzz_examples
from tests.hardening.hostile import HOSTILE, value_for

LEAVES = leaves()
# ``init --force`` wipes the site (it is its job); fuzzing it would only re-fuzz an empty site.
SKIP_OPTIONS = {("init",): {"--force"}}
UNKNOWN = ["--bogus", "-Z", "--json=1", "--title", "--", "--no-such-option=\x1b[31m"]


def _names(arg) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return (arg.dest, *(f.lstrip("-").replace("-", "_") for f in arg.flags))


@st.composite
def argv_for(draw: st.DrawFn, leaf: Leaf) -> list[str]:
    argv = list(leaf.path)
    for arg in leaf.positionals:
        if draw(st.integers(0, 9)) == 0:  # sometimes missing
            continue
        count = draw(st.integers(1, 3)) if arg.many else 1
        argv += [draw(value_for(_names(arg), arg.choices)) for _ in range(count)]
    skip = SKIP_OPTIONS.get(leaf.path, set())
    for arg in leaf.options:
        flags = [f for f in arg.flags if f not in skip]
        if not flags or not draw(
            st.booleans() if not arg.required else st.sampled_from([True] * 5 + [False])
        ):
            continue
        flag = draw(st.sampled_from(flags))
        if not arg.takes_value:
            argv.append(flag)
            continue
        for _ in range(draw(st.integers(1, 2)) if arg.many else 1):
            value = draw(value_for(_names(arg), arg.choices))
            argv += [f"{flag}={value}"] if draw(st.booleans()) else [flag, value]
    if draw(st.integers(0, 7)) == 0:
        argv.insert(
            draw(st.integers(len(leaf.path), len(argv))), draw(st.sampled_from(UNKNOWN + HOSTILE[:20]))
        )
    return argv


def _bad_chars(text: str) -> list[str]:
    return sorted(
        {repr(ch) for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co")}
    )


def check_outcome(o: Outcome, before: str, after: str) -> None:
    """The contract of every command, whatever its arguments."""
    assert o.rc in (0, 1, 2), o.describe()
    assert b"Traceback" not in o.out + o.err, o.describe()
    stdout = o.out.decode("utf-8")  # strict: what a UTF-8 terminal gets must be UTF-8
    stderr = o.err.decode("utf-8")
    assert not _bad_chars(stdout), f"control characters on stdout {_bad_chars(stdout)}\n{o.describe()}"
    assert not _bad_chars(stderr), f"control characters on stderr {_bad_chars(stderr)}\n{o.describe()}"
    if o.rc == 0:
        return
    assert after == before, f"refused command changed the database\n{o.describe()}"
    lines = stderr.splitlines()
    errors = [line for line in lines if ": error:" in line]
    # Exactly one error line, last; lines before it are argparse's usage (exit 2) or the question a
    # confirmation asked (``window delete`` without --yes).
    assert len(errors) == 1 and lines[-1] == errors[0], o.describe()
    assert errors[0].startswith("nodedesk"), o.describe()
    assert len(errors[0]) < 600, o.describe()


_digests: dict[str, str] = {}


def run_checked(site: InProcessCli, argv: list[str]) -> Outcome:
    """Run and check; the digest is recomputed only after a command that succeeded."""
    before = _digests.get(site.database_url) or db_digest(site.database_url)
    outcome = site.run(argv)
    after = db_digest(site.database_url) if outcome.rc != 0 else ""
    if outcome.rc != 0:
        check_outcome(outcome, before, after)
        _digests[site.database_url] = before
    else:
        check_outcome(outcome, before, before)
        _digests.pop(site.database_url, None)
    return outcome


def test_the_tree_has_every_command() -> None:
    names = {leaf.name for leaf in LEAVES}
    assert {"window add", "reservation add", "import", "invoice finalize", "help"} <= names
    assert len(LEAVES) >= 60


# Bugs the fuzzer found (each was an internal error, exit 3, before its fix).
REGRESSIONS = [
    ["user", "roles", "x\udc80", "--role", "viewer"],  # undecodable argv byte reached the database
    ["audit", "list", "--limit=--"],  # argparse turned the value into an empty list
    ["db", "status", "x" * 100_000],  # a 100 kB error line
    ["window", "add", "--title", "t", "--start", "9999-12-31 23:59", "--end", "2026-01-01"],  # overflow
    ["calendar", "export", ""],  # wrote onto the current directory
    ["calendar", "export", "."],
    ["window", "show", "99999999999999999999999"],  # too large for an INTEGER column
    ["reservation", "approve", "3000000000", "--expected-version", "1"],
    ["project", "show", "99999999999999999999"],  # a numeric project reference
    ["split", "show", "#99999999999999999999"],
    ["invoice", "show", "²⁰²⁶-⁰²"],
    # Decimals past the column's range (the shared parser, core/validate.py).
    ["rate", "set", "NODE_A100", "1e400", "--from", "2026-03-01"],
    ["rate", "set", "NODE_A100", "1E+30", "--from", "2026-03-01"],
    ["rate", "set", "NODE_A100", "9" * 80, "--from", "2026-03-01"],
    ["override", "set", "2026-02", "1", "--hours", "1e400", "--reason", "x"],
    ["override", "set", "2026-02", "1", "--hours=-1E+30", "--reason", "x"],
    ["override", "set", "2026-02", "1", "--split", "X=1e400", "--reason", "x"],
    # Settings that used to be stored and then broke every later command that read them.
    ["settings", "set", "reminder_hours", "99999999999999999999"],
    ["settings", "set", "reservation_block_hours", "0"],
    ["settings", "set", "reservation_max_blocks", "1000000000"],
    ["settings", "set", "lock_timeout_seconds", "1e400"],
    ["settings", "set", "statement_timeout_seconds", "-5"],
]


@pytest.mark.parametrize("argv", REGRESSIONS, ids=range(len(REGRESSIONS)))
def test_regressions(argv: list[str], demo_site: InProcessCli) -> None:
    outcome = run_checked(demo_site, argv)
    assert outcome.rc in (1, 2)


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf.name.replace(" ", "-"))
def test_command_survives_hostile_arguments(leaf: Leaf, demo_site: InProcessCli) -> None:
    @settings(max_examples=fuzz_examples(2), suppress_health_check=list(HealthCheck), database=None)
    @given(argv=argv_for(leaf))
    def prop(argv: list[str]) -> None:
        run_checked(demo_site, argv)

    prop()


@pytest.mark.slow
def test_random_command_sequences(demo_site: InProcessCli) -> None:
    """Long run: commands in random order on one evolving database."""

    @settings(max_examples=fuzz_examples(300), suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        leaf = data.draw(st.sampled_from(LEAVES))
        run_checked(demo_site, data.draw(argv_for(leaf)))

    prop()


@pytest.mark.postgres
@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf.name.replace(" ", "-"))
def test_command_survives_hostile_arguments_on_postgresql(leaf: Leaf, pg_demo_site: InProcessCli) -> None:
    """PostgreSQL refuses what SQLite stores (NUL, over-long VARCHARs, out-of-range integers): the
    same contract there. One example per command in CI; NODEDESK_FUZZ_EXAMPLES for more."""

    @settings(max_examples=fuzz_examples(1), suppress_health_check=list(HealthCheck), database=None)
    @given(argv=argv_for(leaf))
    def prop(argv: list[str]) -> None:
        run_checked(pg_demo_site, argv)

    prop()
