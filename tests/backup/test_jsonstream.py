"""The streaming kind-file reader accepts any valid JSON of the right shape, in any chunking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nodedesk.core.backup.jsonstream import HashingWriter, JsonShapeError, KindFileReader, KindFileWriter

RECORDS = [
    {"natural_key": [i], "fields": {"n": 10**i, "text": 'ünï 🚀 "q" \\ \u2028' * (i % 3), "x": None}}
    for i in range(1, 40)
]


def _read(path: Path, chunk: int) -> tuple[list, dict, str]:
    reader = KindFileReader(path)
    reader.CHUNK = chunk
    with reader:
        records = list(reader.records())
    return records, reader.header, reader.sha256


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 65536])
@pytest.mark.parametrize("style", ["writer", "indented", "sorted_compact"])
def test_reader_round_trips(tmp_path: Path, chunk: int, style: str) -> None:
    path = tmp_path / "k.json"
    if style == "writer":
        with path.open("wb") as fh:
            sink = HashingWriter(fh)
            writer = KindFileWriter(sink, "things", len(RECORDS))
            for r in RECORDS:
                writer.record(r["natural_key"], r["fields"])
            writer.close()
        assert sink.size == path.stat().st_size
    else:
        doc = {"model": "things", "count": len(RECORDS), "records": RECORDS}
        text = json.dumps(doc, indent=3) if style == "indented" else json.dumps(doc, sort_keys=True)
        path.write_text(text, "utf-8")
    records, header, sha = _read(path, chunk)
    assert records == RECORDS
    assert header == {"model": "things", "count": len(RECORDS)}
    import hashlib

    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()


def test_empty_records(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    with path.open("wb") as fh:
        w = KindFileWriter(HashingWriter(fh), "things", 0)
        w.close()
    assert json.loads(path.read_text()) == {"model": "things", "count": 0, "records": []}
    assert _read(path, 5)[0] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"model": "x", "records": [1, 2', "invalid JSON|expected"),
        ('{"model": "x", "records": [1 2]}', "expected ',' or ']'"),
        ('{"model": "x"}', "no 'records' list"),
        ('{"records": []} trailing', "unexpected data"),
        ("[1, 2]", "expected a JSON object"),
        ('{"records": [], "records": []}', "appears twice"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "k.json"
    path.write_text(text)
    with pytest.raises(JsonShapeError, match=message):
        _read(path, 4)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(b'{"records": ["\xff"]}')
    with pytest.raises(JsonShapeError, match="not UTF-8"):
        _read(path, 4)
