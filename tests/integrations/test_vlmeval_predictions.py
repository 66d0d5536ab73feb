"""Predictions in, predictions out: a run's answers as a VLMEvalKit prediction file (``mmrole
export``) and VLMEvalKit prediction files as runs (``mmrole import``), without changing an answer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app, main
from mmrole.data import image_root, load_samples
from mmrole.data.convert import write_vlmeval_tsv
from mmrole.errors import DataError
from mmrole.eval.results import write_run
from mmrole.integrations.vlmeval_predictions import import_predictions, read_prediction_table
from mmrole.runs import RunFolder, StageInputs

#: Answers that break naive readers and writers (numbers, NaN, formulas, blanks, breaks, tabs...).
TRICKY = [
    "007",
    "NaN",
    "=1+1",
    "",
    "  padded, with a trailing newline\n",
    "tab\tinside and\nline breaks\n\n",
    "中文的回答：你好！🙂",
    '"quoted" and \'single\' and a lone "',
]
#: Only a .tsv holds these unchanged.
TSV_ONLY = ["carriage\rreturn\r\n", "control\x01char", "x" * 40_000]


def _run(tmp_path: Path, answers: list[str | None], name: str = "run") -> Path:
    samples = list(load_samples("demo"))[: len(answers)]
    records = [
        {"id": s.id, "answer": a, "error": None if a is not None else "HTTP 500: upstream died", "meta": {}}
        for s, a in zip(samples, answers, strict=True)
    ]
    folder = RunFolder(tmp_path / name)
    write_run(folder, samples, records, inputs=StageInputs("openai:mrpa"), summary={"name": name})
    return folder.path


def _read(run: Path) -> tuple[list, list[tuple]]:
    folder = RunFolder(run)
    return folder.samples(), [(a["id"], a["answer"], a["error"]) for a in folder.iter_answers()]


@pytest.mark.parametrize(
    ("suffix", "answers"),
    [(".xlsx", [*TRICKY[:7], None]), (".tsv", [TRICKY[7], *TSV_ONLY, None, *TRICKY[:3]])],
)
def test_a_run_round_trips_through_a_prediction_file(tmp_path: Path, suffix: str, answers: list) -> None:
    run = _run(tmp_path, answers)
    out = tmp_path / f"MRPA_MMRole_Demo{suffix}"
    result = CliRunner().invoke(app, ["export", "--run", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = read_prediction_table(out)
    assert table.columns[0] == "index" and table.columns[-1] == "prediction"
    assert table.indices() == [str(i) for i in range(len(answers))]
    assert (
        table.rows[-1 if suffix == ".xlsx" else 4]["prediction"]
        == "Failed to obtain answer: HTTP 500: upstream died"
    )

    back = tmp_path / "back"
    result = CliRunner().invoke(app, ["import", str(out), "--name", "MRPA", "--run", str(back)])
    assert result.exit_code == 0, result.output
    assert _read(back) == _read(run)  # every sample field, every answer, every failure and its error

    # And once more: the imported run exports the same file.
    again = tmp_path / f"again{suffix}"
    assert CliRunner().invoke(app, ["export", "--run", str(back), "--out", str(again)]).exit_code == 0
    assert read_prediction_table(again).rows == table.rows


@pytest.mark.parametrize("answer", TSV_ONLY)
def test_xlsx_refuses_an_answer_it_would_change(tmp_path: Path, answer: str) -> None:
    run = _run(tmp_path, ["fine", answer])
    out = tmp_path / "out.xlsx"
    with pytest.raises(DataError, match="which .xlsx cannot store unchanged: export to .tsv instead") as info:
        CliRunner().invoke(app, ["export", "--run", str(run), "--out", str(out)], catch_exceptions=False)
    assert info.value.field == "prediction" and info.value.record == list(load_samples("demo"))[1].id
    assert not out.exists()


def _main(monkeypatch, capsys, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mmrole", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
        sys.exit(0)
    return int(exit_info.value.code or 0), capsys.readouterr().err


def _tsv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def test_bad_prediction_files_are_one_line_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    dataset = tmp_path / "MMRole_Demo.tsv"
    write_vlmeval_tsv(load_samples("demo"), image_root("demo"), dataset)
    first_id, second_id = (s.id for s in list(load_samples("demo"))[:2])
    cases = [
        (
            _tsv(tmp_path / "a.tsv", ["index", "answer"], [["0", "x"]]),
            [],
            "field 'prediction': no 'prediction' column",
        ),
        (
            _tsv(tmp_path / "b.tsv", ["id", "prediction"], [["a", "x"]]),
            [],
            "field 'index': no 'index' column",
        ),
        (
            _tsv(tmp_path / "c.tsv", ["index", "prediction"], [["0", "x"]]),
            [],
            "missing column(s) ['question'",
        ),
        (
            _tsv(tmp_path / "d.tsv", ["index", "prediction"], [["0", "x"], ["41", "y"]]),
            ["--data", str(dataset)],
            f"row 3: index 41 is not in the dataset {dataset}",
        ),
        (
            _tsv(tmp_path / "e.tsv", ["index", "id", "prediction"], [["1", first_id, "x"]]),
            ["--data", str(dataset)],
            f"row 2: index 1 is sample {second_id!r} in {dataset} but {first_id!r} here",
        ),
        (
            _tsv(tmp_path / "f.tsv", ["index", "prediction"], [["0", "x", "extra"]]),
            [],
            "line 2: 3 cell(s) where the header has 2",
        ),
    ]
    for n, (path, extra, message) in enumerate(cases):
        code, err = _main(
            monkeypatch, capsys, "import", str(path), "--name", "m", "--run", str(tmp_path / f"r{n}"), *extra
        )
        assert code == 2 and message in err and str(path) in err, (path, err)
        assert err.strip().count("\n") == 0
        assert not (tmp_path / f"r{n}" / "run.json").exists()
    with pytest.raises(DataError, match=r"not a VLMEvalKit prediction file \(expected .xlsx or .tsv\)"):
        read_prediction_table(tmp_path / "predictions.csv")


def test_a_vlmeval_prediction_file_becomes_a_run_to_judge(
    lmu_data: Path, tiny_models, demo_images, tmp_path: Path
) -> None:
    """What VLMEvalKit's inference wrote, imported as is and with only index and prediction + --data."""
    import pandas as pd
    from tiny_vlmeval import TinyJudge
    from vlmeval.dataset import build_dataset
    from vlmeval.inference import infer_data_job

    from mmrole.testing.server import LocalOpenAIServer

    dataset = build_dataset("MMRole_Demo")
    infer_data_job("TinyRolePlayer", work_dir=str(tmp_path), model_name="TinyRolePlayer", dataset=dataset)
    predictions = tmp_path / "TinyRolePlayer_MMRole_Demo.xlsx"
    table = pd.read_excel(predictions, dtype=str)
    samples = list(load_samples("demo"))

    assert import_predictions(predictions, name="Tiny", run_dir=tmp_path / "full") == (8, 8)
    full_samples, full_answers = _read(tmp_path / "full")
    assert full_samples == samples
    assert full_answers == [(i, p, None) for i, p in zip(table["id"], table["prediction"], strict=True)]

    bare = tmp_path / "bare.tsv"
    _tsv(
        bare,
        ["index", "prediction"],
        [[i, p.replace("\n", " ")] for i, p in zip(table["index"], table["prediction"], strict=True)][::-1],
    )
    run = tmp_path / "bare-run"
    assert import_predictions(bare, name="Tiny", run_dir=run, data=lmu_data / "MMRole_Demo.tsv") == (8, 8)
    assert sorted(s.id for s in RunFolder(run).samples()) == sorted(s.id for s in samples)
    expected = {i: p.replace("\n", " ") for i, p in zip(table["id"], table["prediction"], strict=True)}
    assert {i: a for i, a, _ in _read(run)[1]} == expected
    assert (run / "images").is_dir()  # the dataset's images, so the run can be judged
    with LocalOpenAIServer(TinyJudge(demo_images)) as server:
        result = CliRunner().invoke(
            app,
            [
                "judge",
                "--judge",
                f"openai:rm@{server.base_url}",
                "--run",
                str(run),
                "--metrics",
                "Fluency",
                "--no-progress",
            ],
        )
    assert result.exit_code == 0, result.output
    assert json.loads((run / "results.json").read_text())["metrics"]["Fluency"]["n"] == 8
