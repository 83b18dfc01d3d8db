"""Writing and reading kind files one record at a time (memory does not grow with the file).

A kind file is one JSON object ``{"model": ..., "count": n, "records": [...]}``. The writer puts
each record on its own line (readable, diff-friendly). The reader accepts any valid JSON with that
shape (e.g. re-indented by a tool) and yields records as it reads, hashing the exact bytes it
reads so the importer can confirm the file it parsed is the file whose checksum it verified.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

_DECODER = json.JSONDecoder()
_NON_WS = re.compile(r"[^ \t\n\r]")


_SORTED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False)
_PLAIN = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def dumps(value: Any, *, sort_keys: bool = True) -> str:
    """Canonical JSON text: keys sorted, non-ASCII kept, no NaN (one shared encoder: fast)."""
    return (_SORTED if sort_keys else _PLAIN).encode(value)


class HashingWriter:
    """A binary sink that tracks size and SHA-256 of everything written (file optional)."""

    def __init__(self, fh: BinaryIO | None) -> None:
        self._fh = fh
        self.size = 0
        self._sha = hashlib.sha256()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.size += len(data)
        self._sha.update(data)
        if self._fh is not None:
            self._fh.write(data)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


class KindFileWriter:
    """Streams ``{"model", "count", "records"}``; the count must be known up front."""

    def __init__(self, out: HashingWriter, model: str, count: int) -> None:
        self._out = out
        self._expected = count
        self.written = 0
        out.write(f'{{\n  "model": {dumps(model)},\n  "count": {count},\n  "records": [')

    def record(self, natural_key: list[Any], fields: dict[str, Any]) -> None:
        sep = "\n    " if self.written == 0 else ",\n    "
        self._out.write(
            f'{sep}{{"natural_key": {_PLAIN.encode(natural_key)}, "fields": {_SORTED.encode(fields)}}}'
        )
        self.written += 1

    def close(self) -> None:
        if self.written != self._expected:  # the snapshot changed under us: a bug, never data
            raise RuntimeError(f"wrote {self.written} records but announced {self._expected}")
        self._out.write("\n  ]\n}\n" if self.written else "]\n}\n")


class JsonShapeError(ValueError):
    """The file is not valid JSON or not a kind file (message says where)."""


class NotPlainFile(ValueError):
    """A name inside an export is a symbolic link or not a regular file (message names it)."""

    def __init__(self, name: str, mode: int) -> None:
        super().__init__(f"{name}: {_describe(mode)}; an export holds only regular files")


def _describe(mode: int) -> str:
    return "is a symbolic link" if stat.S_ISLNK(mode) else "is not a regular file"


def check_plain_files(directory: Path) -> None:
    """Every entry of an export directory must be a regular file, never a symbolic link.

    An export holds only regular files; a link could make an import read something outside the
    export (e.g. a system file), so one is refused before anything is read.
    """
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            mode = entry.stat(follow_symlinks=False).st_mode
            if not stat.S_ISREG(mode):
                raise NotPlainFile(entry.name, mode)


def open_plain(path: Path) -> BinaryIO:
    """Open a file of an export for reading, refusing a symbolic link or a special file.

    ``O_NOFOLLOW`` closes the gap between :func:`check_plain_files` and the open: a link put in
    place meanwhile is refused, not followed; ``O_NONBLOCK`` keeps a FIFO from blocking the open.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if path.is_symlink():
            raise NotPlainFile(path.name, stat.S_IFLNK) from None
        raise exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotPlainFile(path.name, mode)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


class KindFileReader:
    """Iterate the records of a kind file without loading it whole.

    ``header`` holds the top-level keys other than ``records`` seen so far (all of them once
    :meth:`records` is exhausted). ``sha256``/``size`` cover every byte of the file after that.
    """

    CHUNK = 1 << 16

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: dict[str, Any] = {}
        self.size = 0
        self._sha = hashlib.sha256()
        self._fh: BinaryIO = open_plain(path)
        self._text = codecs.getincrementaldecoder("utf-8")()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self.parsed_chars = 0  # characters handed to the JSON decoder (retries included)

    # -- low level ------------------------------------------------------------------------
    def _fill(self, size: int = CHUNK) -> bool:
        if self._eof:
            return False
        data = self._fh.read(size)
        if not data:
            self._eof = True
            try:
                self._buf += self._text.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise JsonShapeError(f"not UTF-8 text ({exc.reason})") from exc
            return False
        self.size += len(data)
        self._sha.update(data)
        if self._pos > self.CHUNK:
            self._buf = self._buf[self._pos :]
            self._pos = 0
        try:
            self._buf += self._text.decode(data)
        except UnicodeDecodeError as exc:
            raise JsonShapeError(f"not UTF-8 text ({exc.reason})") from exc
        return True

    def _peek(self) -> str:
        """The next non-blank character (not consumed), or "" at the end of the file."""
        while True:
            found = _NON_WS.search(self._buf, self._pos)
            if found is not None:
                self._pos = found.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._fill():
                return ""

    def _expect(self, char: str, what: str) -> None:
        got = self._peek()
        if got != char:
            raise JsonShapeError(f"expected {what}, found {got or 'end of file'!r}")
        self._pos += 1

    def _value(self) -> Any:
        """The next JSON value. A value longer than the buffer is re-parsed from its start after
        each read, so each read at least doubles what is buffered: linear time in its size."""
        self._peek()
        while True:
            self.parsed_chars += len(self._buf) - self._pos
            grow = max(self.CHUNK, len(self._buf) - self._pos)
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._fill(grow):
                    continue
                raise JsonShapeError(f"invalid JSON: {exc.msg} near character {exc.pos}") from exc
            if end == len(self._buf) and self._fill(grow):
                continue  # a number may continue in the next chunk
            self._pos = end
            return value

    # -- records --------------------------------------------------------------------------
    def records(self) -> Iterator[Any]:
        self._expect("{", "a JSON object")
        first = True
        seen_records = False
        while True:
            if self._peek() == "}":
                self._pos += 1
                break
            if not first:
                self._expect(",", "',' or '}'")
            first = False
            key = self._value()
            if not isinstance(key, str):
                raise JsonShapeError("object keys must be strings")
            self._expect(":", "':'")
            if key == "records":
                if seen_records:
                    raise JsonShapeError("'records' appears twice")
                seen_records = True
                self._expect("[", "'records' to be a list")
                if self._peek() == "]":
                    self._pos += 1
                    continue
                while True:
                    yield self._value()
                    nxt = self._peek()
                    self._pos += 1
                    if nxt == "]":
                        break
                    if nxt != ",":
                        raise JsonShapeError(
                            f"expected ',' or ']' in records, found {nxt or 'end of file'!r}"
                        )
            else:
                if key in self.header:
                    raise JsonShapeError(f"{key!r} appears twice")
                self.header[key] = self._value()
        if self._peek() != "":
            raise JsonShapeError("unexpected data after the JSON object")
        if not seen_records:
            raise JsonShapeError("no 'records' list")

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> KindFileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read in chunks."""
    sha = hashlib.sha256()
    size = 0
    with open_plain(path) as fh:
        while chunk := fh.read(1 << 20):
            size += len(chunk)
            sha.update(chunk)
    return size, sha.hexdigest()
