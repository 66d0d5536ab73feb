"""JSON reading with precise error positions, and a streaming reader for big top-level arrays.

MMRole's training file holds ~85k samples in one JSON array; :func:`iter_json_array` decodes it
one element at a time (``json.JSONDecoder.raw_decode`` over chunks) so only the current element
and a small buffer are in memory.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrole.errors import DataError

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"
CHUNK_CHARS = 1 << 20


def not_utf8(err: UnicodeDecodeError, line: int, column: int | None = None) -> str:
    """The message of a file that is not UTF-8 text (JSON must be), at a line (and byte column)."""
    at = f"line {line}, byte {column}" if column is not None else f"line {line}"
    byte = err.object[err.start : err.start + 1].hex()
    return f"not UTF-8 text at {at} (byte 0x{byte}): save the file as UTF-8"


def _position(err: json.JSONDecodeError) -> str:
    return f"malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}"


def read_json(path: str | Path) -> Any:
    """Read a whole JSON file; errors name the file and the line and column.

    Raises:
        DataError: The file is missing, unreadable, not UTF-8 or not valid JSON.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", file=str(path)) from None
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror or err}", file=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError(not_utf8(err, line, column), file=str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(_position(err), file=str(path)) from None


class _Stream:
    """A text buffer over a file that remembers the line/column of what it has dropped."""

    def __init__(self, handle: Any, chunk_chars: int):
        self.handle, self.chunk_chars = handle, chunk_chars  # a binary handle, decoded here
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.eof = "", 0, False
        self.dropped_lines, self.dropped_tail = 0, 0  # newlines dropped; chars after the last one

    def fill(self) -> bool:
        """Read one more chunk; False at the end of the file.

        Raises:
            UnicodeDecodeError: The chunk is not UTF-8 (see :meth:`line_of`).
        """
        if self.eof:
            return False
        raw = self.handle.read(self.chunk_chars)
        chunk = self.decoder.decode(raw, final=not raw)
        if not raw:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def line_of(self, err: UnicodeDecodeError) -> int:
        """The line (from 1) of the byte a :meth:`fill` could not decode."""
        before, _ = self.where(len(self.buf))
        return before + err.object.count(b"\n", 0, err.start)

    def compact(self) -> None:
        """Drop what has been decoded, keeping the position bookkeeping."""
        if self.pos < self.chunk_chars:
            return
        dropped = self.buf[: self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self.dropped_lines += newlines
            self.dropped_tail = len(dropped) - dropped.rfind("\n") - 1
        else:
            self.dropped_tail += len(dropped)
        self.buf, self.pos = self.buf[self.pos :], 0

    def skip_whitespace(self) -> str | None:
        """Advance past whitespace; the next character, or None at the end of the file."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return None

    def where(self, pos: int) -> tuple[int, int]:
        """(line, column), both from 1, of a buffer position."""
        line = self.dropped_lines + self.buf.count("\n", 0, pos) + 1
        last = self.buf.rfind("\n", 0, pos)
        column = pos - last if last >= 0 else self.dropped_tail + pos + 1
        return line, column


def iter_json_array(path: str | Path, *, chunk_chars: int = CHUNK_CHARS) -> Iterator[Any]:
    """Yield the elements of a file holding one top-level JSON array, one at a time.

    Raises:
        DataError: The file is missing, is not an array, or is malformed (with line and column).
    """
    path = Path(path)

    def fail(stream: _Stream, pos: int, what: str) -> DataError:
        line, column = stream.where(pos)
        return DataError(f"malformed JSON at line {line}, column {column}: {what}", file=str(path))

    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataError("file not found", file=str(path)) from None
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror or err}", file=str(path)) from None
    with handle:
        stream = _Stream(handle, chunk_chars)
        try:
            first = stream.skip_whitespace()
            if first != "[":
                raise fail(stream, stream.pos, "expected a JSON array ('[')")
            stream.pos += 1
            expect_value = True  # right after '[' or ','
            empty = True
            while True:
                char = stream.skip_whitespace()
                if char is None:
                    raise fail(stream, stream.pos, "unexpected end of file inside the array")
                if char == "]":
                    if expect_value and not empty:
                        raise fail(stream, stream.pos, "trailing comma before ']'")
                    stream.pos += 1
                    break
                if not expect_value:
                    if char != ",":
                        raise fail(stream, stream.pos, "expected ',' or ']' after an array element")
                    stream.pos += 1
                    expect_value = True
                    continue
                yield _decode_one(stream, fail)
                empty, expect_value = False, False
                stream.compact()
            if stream.skip_whitespace() is not None:
                raise fail(stream, stream.pos, "extra data after the array")
        except UnicodeDecodeError as err:
            raise DataError(not_utf8(err, stream.line_of(err)), file=str(path)) from None


def _decode_one(stream: _Stream, fail: Any) -> Any:
    """Decode the element at the stream position, reading more text while it may be cut short."""
    if stream.buf[stream.pos] not in '{["':
        # A bare number or literal is not self-delimiting: make sure its end is in the buffer.
        while not any(c in stream.buf[stream.pos :] for c in ",]" + _WHITESPACE) and stream.fill():
            pass
    while True:
        try:
            value, end = _DECODER.raw_decode(stream.buf, stream.pos)
        except json.JSONDecodeError as err:
            # The element may just continue past the buffer: read more and retry.
            if stream.fill():
                continue
            raise fail(stream, err.pos, err.msg) from None
        stream.pos = end
        return value


def iter_jsonl_lines(lines: Iterable[str], file: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSONL text.

    Raises:
        DataError: A line is not JSON (with its line and column) or not a JSON object.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"malformed JSON at line {number}, column {err.colno}: {err.msg}", file=file
            ) from None
        if not isinstance(record, dict):
            raise DataError(f"line {number} is not a JSON object", file=file)
        yield number, record


def utf8_lines(handle: Iterable[bytes], file: str) -> Iterator[str]:
    """The lines of a binary file as text.

    Raises:
        DataError: A line is not UTF-8 (names the file, the line and the byte).
    """
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(not_utf8(err, number, err.start + 1), file=file) from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream ``(line number, object)`` pairs of a JSONL file (see :func:`iter_jsonl_lines`).

    Raises:
        DataError: The file cannot be read, a line is not UTF-8, or a line is not a JSON object.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror or err}", file=str(path)) from None
    with handle:
        yield from iter_jsonl_lines(utf8_lines(handle, str(path)), str(path))
