"""VLMEvalKit prediction files (``.xlsx``, ``.tsv``) <-> run folders.

A prediction file is the dataset's rows without their images plus a ``prediction`` column, one
row per sample, keyed by ``index`` (what VLMEvalKit's inference writes as
``{model}_{dataset}.xlsx``). For an MMRole dataset its columns are those of the TSV mmrole writes
(:data:`mmrole.data.convert.TSV_COLUMNS`) less ``image``, so a file alone holds every sample; a
file with only ``index`` and ``prediction`` needs the dataset's TSV beside it (``--data``).

Answers come through unchanged, whatever their text: cells are read as text (``"007"``,
``"NaN"`` and empty answers stay as they are), TSVs are read and written with the ``csv`` module
(quoted fields keep tabs and line breaks), and an answer ``.xlsx`` cannot hold unchanged (a
carriage return, a control character, more than 32,767 characters) is refused on export, naming
the sample, instead of being altered. A failed answer is written as VLMEvalKit writes one,
``Failed to obtain answer: <error>``, and read back as a failure with that error.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrole.data.convert import TSV_COLUMNS
from mmrole.errors import DataError
from mmrole.runs import AnswerRecord, RunFolder, StageInputs
from mmrole.schema import Sample

SUFFIXES = (".xlsx", ".tsv")
#: VLMEvalKit's mark of a failed prediction (``vlmeval.smp.file.INFER_FAIL_MSG``).
FAILED_PREDICTION = "Failed to obtain answer"
#: The sample columns of an MMRole prediction file (the TSV's, less the image).
SAMPLE_COLUMNS = tuple(c for c in TSV_COLUMNS if c not in ("index", "image"))
#: The most characters an .xlsx cell holds; longer text is cut by every writer.
XLSX_CELL_LIMIT = 32767
#: Characters an .xlsx cell cannot hold as they are (writers escape them as ``_x000D_``).
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]")


@dataclass
class PredictionTable:
    """A prediction file's rows, every cell as text, with the columns in file order."""

    path: Path
    columns: list[str]
    rows: list[dict[str, str]]

    def indices(self) -> list[str]:
        return [row["index"] for row in self.rows]


def _read_tsv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        columns = next(reader, None) or []
        rows = []
        for line, cells in enumerate(reader, start=2):
            if len(cells) != len(columns):
                raise DataError(
                    f"line {line}: {len(cells)} cell(s) where the header has {len(columns)} "
                    "(an unquoted tab or line break?)",
                    file=str(path),
                )
            rows.append(dict(zip(columns, cells, strict=True)))
    return columns, rows


def _read_xlsx(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    import pandas as pd

    frame = pd.read_excel(path, dtype=str, keep_default_na=False, na_filter=False)
    columns = [str(c) for c in frame.columns]
    return columns, [dict(zip(columns, map(str, values), strict=True)) for values in frame.itertuples(False)]


def read_prediction_table(path: str | Path) -> PredictionTable:
    """A VLMEvalKit prediction file, checked: ``index`` and ``prediction`` columns, unique indices.

    Raises:
        DataError: Not an .xlsx/.tsv file, unreadable, a column missing, an empty or repeated index.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"not a VLMEvalKit prediction file (expected {' or '.join(SUFFIXES)})", file=str(path)
        )
    if not path.is_file():
        raise DataError("no such file", file=str(path))
    try:
        columns, rows = _read_tsv(path) if suffix == ".tsv" else _read_xlsx(path)
    except DataError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as err:
        raise DataError(
            f"cannot read the prediction file: {type(err).__name__}: {err}", file=str(path)
        ) from None
    for column in ("index", "prediction"):
        if column not in columns:
            raise DataError(
                f"no {column!r} column (columns: {', '.join(columns)})", file=str(path), field=column
            )
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        index = row["index"].strip()
        if not index or index in seen:
            what = "empty index" if not index else f"index {index} repeats an earlier row"
            raise DataError(f"row {line}: {what}", file=str(path), field="index")
        row["index"] = index
        seen.add(index)
    return PredictionTable(path, columns, rows)


def answer_of(prediction: str) -> tuple[str | None, str | None]:
    """(answer, error) of a prediction cell: VLMEvalKit's failure mark is a failed answer."""
    if prediction.startswith(FAILED_PREDICTION):
        # "Failed to obtain answer: ERROR" (VLMEvalKit's SKIP_ERR, mmrole's export) or its API models'
        # "Failed to obtain answer via API. ERROR".
        error = prediction[len(FAILED_PREDICTION) :].removeprefix(" via API.").lstrip(":. ").strip()
        return None, error or "VLMEvalKit recorded no answer"
    return prediction, None


def prediction_of(record: AnswerRecord) -> str:
    """The prediction cell of an answer: its text, or VLMEvalKit's failure mark with the error."""
    if record.get("answer") is None:
        return f"{FAILED_PREDICTION}: {record.get('error') or 'no answer'}"
    return str(record["answer"])


def sample_of_row(row: dict[str, Any], *, file: str, line: int | str) -> Sample:
    """The Sample of an MMRole row (a dataset or prediction row; ``image_path`` is the image).

    Raises:
        DataError: A field is not valid (names the file, the row's id and the field).
    """
    from pydantic import ValidationError

    record = str(row.get("id") or row.get("index"))
    try:
        return Sample(
            id=record,
            image=str(row["image_path"]),
            system=str(row["system"]),
            instruction=str(row["question"]),
            reference=str(row["answer"]),
            role=str(row["role"]),
            script=str(row["script"]),
            other_role=str(row["other_role"]),
            type=row["type"],
            split=row["split"],
            language=row["language"],
        )
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise DataError(f"row {line}: {first['msg']}", file=file, record=record, field=field) from None


def answer_record(sample_id: str, prediction: str, meta: dict[str, Any]) -> AnswerRecord:
    answer, error = answer_of(prediction)
    return {"id": sample_id, "answer": answer, "error": error, "meta": meta}


def _samples_from_file(table: PredictionTable) -> list[Sample]:
    missing = [c for c in SAMPLE_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}: this file does not carry the samples; give the dataset's TSV "
            "(--data) to match its indices",
            file=str(table.path),
            field=missing[0],
        )
    return [sample_of_row(row, file=str(table.path), line=n) for n, row in enumerate(table.rows, start=2)]


def _samples_from_dataset(table: PredictionTable, tsv: Path, image_dir: Path) -> list[Sample]:
    """The dataset samples of the table's indices (the TSV's images are written into ``image_dir``)."""
    from mmrole.data.convert import read_vlmeval_tsv

    _, dataset_rows = _read_tsv(tsv)
    by_index = dict(zip((r["index"] for r in dataset_rows), read_vlmeval_tsv(tsv, image_dir), strict=True))
    samples = []
    for line, row in enumerate(table.rows, start=2):
        sample = by_index.get(row["index"])
        if sample is None:
            raise DataError(
                f"row {line}: index {row['index']} is not in the dataset {tsv}",
                file=str(table.path),
                field="index",
            )
        if row.get("id") and row["id"] != sample.id:
            raise DataError(
                f"row {line}: index {row['index']} is sample {sample.id!r} in {tsv} but {row['id']!r} here",
                file=str(table.path),
                record=row["id"],
                field="id",
            )
        samples.append(sample)
    return samples


def import_predictions(
    path: str | Path,
    *,
    name: str,
    run_dir: str | Path,
    data: str | Path | None = None,
    image_root: str | Path | None = None,
    overwrite: bool = False,
) -> tuple[int, int]:
    """A VLMEvalKit prediction file as the answers of a run folder (ready for ``mmrole judge``).

    Args:
        path: The prediction file.
        name: The run's display name.
        run_dir: The run folder to create.
        data: The dataset's TSV: its samples (and images, written into ``RUN/images``) for the
            file's indices. Without it the file's own columns are the samples.
        image_root: Where the samples' images are, when ``data`` is not given.
        overwrite: Replace a run the folder holds.

    Returns:
        (samples, answered) of the run.

    Raises:
        DataError: A bad file (see :func:`read_prediction_table`), indices not in the dataset, a
            row whose id differs from the dataset's, or a folder holding a run (without ``overwrite``).
    """
    from mmrole.eval import results as run_results

    table = read_prediction_table(path)
    folder = RunFolder(run_dir)
    with folder.lock():
        if folder.holds_run() and not overwrite:
            raise DataError("already holds a run (use --overwrite to replace it)", file=str(run_dir))
        if data is not None:
            image_root = folder.path / "images"
            samples = _samples_from_dataset(table, Path(data), image_root)
        else:
            samples = _samples_from_file(table)
        ids = [s.id for s in samples]
        if len(set(ids)) != len(ids):
            repeated = next(i for i in ids if ids.count(i) > 1)
            raise DataError("two rows are the same sample", file=str(table.path), record=repeated, field="id")
        answers = [
            answer_record(s.id, row["prediction"], {"source": str(table.path), "vlmeval_index": row["index"]})
            for s, row in zip(samples, table.rows, strict=True)
        ]
        agent = f"imported:{name}"
        run_results.write_run(
            folder,
            samples,
            answers,
            inputs=StageInputs(agent, data=[str(table.path)]),
            summary={
                "name": name,
                "agent": agent,
                "data": {"source": [str(table.path)], "image_root": str(image_root) if image_root else None},
                "imported_from": [str(table.path)],
            },
            overwrite=True,
        )
    return len(samples), sum(1 for a in answers if a["answer"] is not None)


def prediction_rows(samples: Sequence[Sample], answers: dict[str, AnswerRecord]) -> list[dict[str, Any]]:
    """The rows of a run's prediction file: the sample columns, its ``index`` and ``prediction``.

    The index is the one a VLMEvalKit file gave the sample (an imported run), else its position,
    as :func:`mmrole.data.convert.write_vlmeval_tsv` numbers the same samples.
    """
    rows = []
    for position, sample in enumerate(samples):
        record = answers.get(sample.id) or {"answer": None, "error": "not answered"}
        index = (record.get("meta") or {}).get("vlmeval_index", position)  # type: ignore[union-attr]
        cells = {
            "question": sample.instruction,
            "answer": sample.reference,
            "image_path": sample.image,
            **{
                c: getattr(sample, c) for c in SAMPLE_COLUMNS if c not in ("question", "answer", "image_path")
            },
        }
        rows.append(
            {
                "index": int(index) if str(index).lstrip("-").isdigit() else index,
                **{c: cells[c] for c in SAMPLE_COLUMNS},
                "prediction": prediction_of(record),  # type: ignore[arg-type]
            }
        )
    return rows


def _check_xlsx(rows: Iterable[dict[str, Any]], path: Path) -> None:
    for row in rows:
        for column, value in row.items():
            if not isinstance(value, str):
                continue
            problem = (
                f"longer than {XLSX_CELL_LIMIT:,} characters"
                if len(value) > XLSX_CELL_LIMIT
                else "a carriage return or control character"
                if _NOT_IN_XLSX.search(value)
                else None
            )
            if problem:
                raise DataError(
                    f"holds {problem}, which .xlsx cannot store unchanged: export to .tsv instead",
                    file=str(path),
                    record=str(row.get("id")),
                    field=column,
                )


def write_prediction_file(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write rows as a VLMEvalKit prediction file (.xlsx or .tsv by suffix), all or nothing."""
    from mmrole import files

    path = Path(path)
    columns = list(rows[0]) if rows else ["index", "prediction"]
    if path.suffix.lower() == ".tsv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(columns)
        writer.writerows([row[c] for c in columns] for row in rows)
        files.write_bytes(path, out.getvalue().encode("utf-8"))  # bytes: no newline translation
        return
    if path.suffix.lower() != ".xlsx":
        raise DataError(f"a prediction file is {' or '.join(SUFFIXES)}", file=str(path))
    import pandas as pd

    _check_xlsx(rows, path)
    buffer = io.BytesIO()
    # Text stays text: no formulas from "=...", no links, no numbers from digits.
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    pd.DataFrame(rows, columns=columns).to_excel(
        buffer, index=False, engine="xlsxwriter", engine_kwargs={"options": options}
    )
    files.write_bytes(path, buffer.getvalue())


def export_predictions(run_dir: str | Path, out: str | Path, *, overwrite: bool = False) -> int:
    """A run's answers as a VLMEvalKit prediction file; returns the rows written.

    Raises:
        DataError: The run's answering did not finish, ``out`` exists (without ``overwrite``), or an
            answer .xlsx cannot hold unchanged.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise DataError("already exists (use --overwrite to replace it)", file=str(out))
    folder = RunFolder(run_dir)
    rows = prediction_rows(folder.samples(), folder.answers())
    write_prediction_file(out, rows)
    return len(rows)
