"""The streaming JSON array reader: same values as json.load, bounded buffer, precise error positions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrole.data.jsonio import iter_json_array, read_json
from mmrole.errors import DataError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(json_values, max_size=12), indent=st.sampled_from([None, 0, 2]), chunk=st.integers(1, 64)
)
def test_streaming_equals_json_load(tmp_path_factory: pytest.TempPathFactory, values, indent, chunk):
    path = tmp_path_factory.mktemp("j") / "array.json"
    path.write_text(json.dumps(values, indent=indent, ensure_ascii=False), encoding="utf-8")
    assert list(iter_json_array(path, chunk_chars=chunk)) == values


def test_streams_a_large_file_without_reading_it_whole(tmp_path: Path):
    path = tmp_path / "big.json"
    records = [{"id": f"s{i}", "conversations": [{"from": "user", "value": "x" * 50}]} for i in range(3000)]
    path.write_text(json.dumps(records, indent=1))
    stream = iter_json_array(path, chunk_chars=4096)
    first = next(stream)
    assert first["id"] == "s0"
    # The generator's buffer holds about one chunk, not the ~300 KB file.
    buffer = stream.gi_frame.f_locals["stream"].buf
    assert len(buffer) < 3 * 4096
    assert sum(1 for _ in stream) == 2999


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('[\n  {"a": 1},\n  {"b": 2,}\n]', 3, 11),  # trailing comma inside an object
        ('[\n  {"a": 1}\n  {"b": 2}\n]', 3, 3),  # missing comma between elements
        ('[\n  {"a": 1},\n]', 3, 1),  # trailing comma before ]
        ('[\n  {"a": "unterminated\n]', 2, 22),  # where json.loads puts it too
        ('{"not": "an array"}', 1, 1),
        ("[1, 2", 1, 6),
    ],
)
def test_malformed_arrays_report_line_and_column(tmp_path: Path, text: str, line: int, column: int):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        list(iter_json_array(path, chunk_chars=5))
    assert info.value.file == str(path)
    assert f"line {line}, column {column}" in str(info.value)


def test_positions_stay_right_after_the_buffer_is_compacted(tmp_path: Path):
    lines = [json.dumps({"id": i, "text": "y" * 30}) + "," for i in range(500)]
    path = tmp_path / "late-error.json"
    path.write_text("[\n" + "\n".join(lines) + '\n{"id": oops}\n]')
    with pytest.raises(DataError, match="line 502, column 8"):
        list(iter_json_array(path, chunk_chars=256))


def test_read_json_errors_name_file_and_position(tmp_path: Path):
    path = tmp_path / "profiles.json"
    path.write_text('{\n  "Iron Man": "text",\n  "Thor" "text"\n}')
    with pytest.raises(DataError, match=r"profiles\.json: malformed JSON at line 3, column 10"):
        read_json(path)
    with pytest.raises(DataError, match="file not found"):
        read_json(tmp_path / "missing.json")
