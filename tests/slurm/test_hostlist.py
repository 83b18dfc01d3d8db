"""Slurm host lists: expanding what scontrol prints, compressing what nodedesk sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core.errors import ValidationError
from nodedesk.core.slurm.hostlist import MAX_HOSTS, compress, expand


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("node[2433-2436]", ["node2433", "node2434", "node2435", "node2436"]),
        ("node[2433-2434,2436],login", ["node2433", "node2434", "node2436", "login"]),
        ("gpu[08-10]", ["gpu08", "gpu09", "gpu10"]),
        ("n[9-10]", ["n9", "n10"]),
        ("r[1-2]n[01-02]", ["r1n01", "r1n02", "r2n01", "r2n02"]),
        ("a1,a1,a[1-1]", ["a1"]),
        ("(null)", []),
        ("", []),
    ],
)
def test_expand(text: str, names: list[str]) -> None:
    assert expand(text) == names


@pytest.mark.parametrize(
    ("names", "text"),
    [
        (["node2436", "node2433", "node2434"], "node[2433-2434,2436]"),
        (["node2433"], "node2433"),
        (["gpu09", "gpu10", "gpu08"], "gpu10,gpu[08-09]"),  # gpu10 needs no padding: its own group
        (["login", "n1", "n2", "n3"], "login,n[1-3]"),
        ([], ""),
    ],
)
def test_compress(names: list[str], text: str) -> None:
    assert compress(names) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("node[1-", "'[' without ']'"),
        ("node1]", "']' without '['"),
        ("node[[1-2]]", "nested '['"),
        ("node[3-1]", "runs backwards"),
        ("node[a-b]", "bad range"),
        ("node1,,node2", "empty name"),
        (f"n[1-{MAX_HOSTS + 5}]", f"more than {MAX_HOSTS} nodes"),
    ],
)
def test_bad_host_lists_are_one_line(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        expand(text, "nodes")
    assert message in str(err.value) and str(err.value).startswith("nodes: ") and "\n" not in str(err.value)


# Node names as nodedesk allows them (core/validate.py): letters, digits, '.', '_', '-'.
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,6}[0-9]{0,4}", fullmatch=True)


@given(st.lists(names, max_size=40))
def test_expand_of_compress_gives_back_the_names(given_names: list[str]) -> None:
    text = compress(given_names)
    assert sorted(expand(text)) == sorted(set(given_names))
    assert compress(expand(text)) == text  # the compressed form is canonical


@given(st.lists(st.integers(0, 3000), min_size=1, max_size=60), st.sampled_from(["node", "gpu-", "r1n"]))
def test_numbered_nodes_compress_to_ranges(numbers: list[int], prefix: str) -> None:
    text = compress(f"{prefix}{n}" for n in numbers)
    assert text.count(prefix) == 1  # one group: every number written in it
    assert sorted(expand(text)) == sorted({f"{prefix}{n}" for n in numbers})
