"""MMRole as a VLMEvalKit dataset, driven by VLMEvalKit's own code: its ``build_dataset``, its
inference loop (``infer_data_job``) with a tiny model from its registry, then the dataset's
``evaluate`` judging the prediction file with a judge served by mmrole's local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data import image_root, load_samples
from mmrole.data.convert import md5_file_of, to_openai_messages, write_vlmeval_tsv
from mmrole.errors import ConfigError, DataError
from mmrole.schema import METRICS, SPLIT_NAMES
from mmrole.testing.server import LocalOpenAIServer


def _infer(
    tmp_path: Path, model: object, name: str, dataset_name: str = "MMRole_Demo"
) -> tuple[object, Path]:
    from vlmeval.dataset import build_dataset
    from vlmeval.inference import infer_data_job

    dataset = build_dataset(dataset_name)
    work = tmp_path / "outputs" / name
    work.mkdir(parents=True)
    infer_data_job(model, work_dir=str(work), model_name=name, dataset=dataset, verbose=False)
    return dataset, work / f"{name}_{dataset_name}.xlsx"


def test_vlmeval_finds_the_datasets_and_their_type(lmu_data: Path, vlmeval) -> None:
    from vlmeval.dataset import DATASET_TYPE, SUPPORTED_DATASETS, build_dataset

    from mmrole.integrations.vlmeval_dataset import MMRoleDataset

    assert {"MMRole", "MMRole_InTest", "MMRole_OutTest", "MMRole_Demo"} <= set(SUPPORTED_DATASETS)
    assert DATASET_TYPE("MMRole_InTest") == "RolePlay"
    # A test set of your own: any MMRole_<name>.tsv in $LMUData.
    write_vlmeval_tsv(list(load_samples("demo"))[:3], image_root("demo"), lmu_data / "MMRole_Mine.tsv")
    dataset = build_dataset("MMRole_Mine")
    assert isinstance(dataset, MMRoleDataset) and len(dataset) == 3
    assert (
        MMRoleDataset.DATASET_MD5["MMRole_Mine"]
        == md5_file_of(lmu_data / "MMRole_Mine.tsv").read_text().split()[0]
    )


def test_build_prompt_is_the_mrpa_prompt_mmrole_sends(lmu_data: Path, vlmeval) -> None:
    from vlmeval.dataset import build_dataset

    dataset = build_dataset("MMRole_Demo")  # written from the bundled demo set when absent
    assert (lmu_data / "MMRole_Demo.tsv").is_file()
    samples = list(load_samples("demo"))
    assert len(dataset) == len(samples)
    for i, sample in enumerate(samples):
        message = dataset.build_prompt(dataset.data.iloc[i])
        assert [m["type"] for m in message] == ["image", "text"]
        assert message[1]["value"] == f"{sample.system}\n\n{sample.instruction}"
        # The image is the sample's file, byte for byte (VLMEvalKit's default dump re-encodes it).
        assert Path(message[0]["value"]).read_bytes() == (image_root("demo") / sample.image).read_bytes()
        assert dataset.sample_of(dataset.data.iloc[i]) == sample
        # The row gives back exactly the OpenAI messages mmrole sends for the sample.
        assert to_openai_messages(
            dataset.sample_of(dataset.data.iloc[i]), dataset.img_root
        ) == to_openai_messages(sample, image_root("demo"))


def _judge_cli(run: Path, judge: str) -> None:
    result = CliRunner().invoke(app, ["judge", "--judge", judge, "--run", str(run), "--no-progress"])
    assert result.exit_code == 0, result.output


def test_vlmeval_inference_then_evaluate_equals_mmrole_answer_then_judge(
    lmu_data: Path, tiny_models, demo_images, tmp_path: Path
) -> None:
    import pandas as pd
    from tiny_vlmeval import TinyJudge, TinyRolePlayer

    # VLMEvalKit's inference over MMRole_Demo: the prediction file it writes.
    dataset, predictions = _infer(tmp_path, "TinyRolePlayer", "TinyRolePlayer")
    table = pd.read_excel(predictions)
    assert len(table) == 8 and table["prediction"].str.startswith("Tiny: images ['").all()
    inferred = list(TinyRolePlayer.received)

    judge = TinyJudge(demo_images)
    with LocalOpenAIServer(judge) as server:
        frame = dataset.evaluate(
            str(predictions), model="mmrole-eval-rm", api_base=f"{server.base_url}/chat/completions", nproc=4
        )
        calls = server.received
        assert calls == 8 * len(METRICS) and judge.refused == []

        # The same tiny model as an mmrole agent, then `mmrole judge` with the same judge.
        run = tmp_path / "mmrole-run"
        result = CliRunner().invoke(
            app,
            [
                "answer",
                "--agent",
                "vlmeval:TinyRolePlayer",
                "--data",
                "demo",
                "--run",
                str(run),
                "--no-progress",
            ],
        )
        assert result.exit_code == 0, result.output
        _judge_cli(run, f"openai:mmrole-eval-rm@{server.base_url}")
        assert judge.refused == []

        # Evaluating again answers from the run folder's store: no call.
        again = dataset.evaluate(str(predictions), model="mmrole-eval-rm", api_base=server.base_url)
        assert server.received == 2 * calls
        pd.testing.assert_frame_equal(again, frame)

    # The model was given the same text and image bytes either way, so it gave the same answers.
    answered = TinyRolePlayer.received[len(inferred) :]
    assert [m for m, _ in answered] == [m for m, _ in inferred] and len(inferred) == 8
    assert {d for _, d in inferred} == {"MMRole_Demo"} and {d for _, d in answered} == {"MMRole"}
    answers = {json.loads(line)["id"]: json.loads(line)["answer"] for line in (run / "answers.jsonl").open()}
    assert dict(zip(table["id"], table["prediction"], strict=True)) == answers

    results = json.loads((run / "results.json").read_text())
    expected = {"All": results}
    expected |= {SPLIT_NAMES[s]: results["by_split"][s] for s in results["by_split"]}
    expected |= dict(results["by_type"])
    assert list(frame["subset"]) == ["All", "In-Test", "Out-Test", "comment", "human-role", "inter-role"]
    for _, row in frame.iterrows():
        part = expected[row["subset"]]
        assert row["n"] == part["n_samples"]
        assert row["Overall"] == pytest.approx(part["overall"]["mean"], abs=1e-12)
        for metric in METRICS:
            assert row[metric] == pytest.approx(part["metrics"][metric]["mean"], abs=1e-12)

    # VLMEvalKit's files beside the prediction file: the judge file, the score table, the run folder.
    stem = predictions.with_suffix("")
    judged = pd.read_excel(f"{stem}_mmrole-eval-rm.xlsx")
    assert {f"{m} score" for m in METRICS} <= set(judged.columns) and len(judged) == 8
    assert pd.read_csv(f"{stem}_score.csv")["Overall"].tolist() == pytest.approx(frame["Overall"].tolist())
    assert (
        json.loads(Path(f"{stem}_mmrole-eval-rm_mmrole/results.json").read_text())["overall"]
        == results["overall"]
    )


def _prediction_file(path: Path, rows: list[dict]) -> Path:
    """A prediction file as VLMEvalKit's ``dump`` writes one (``.xlsx``, or ``.tsv`` with PRED_FORMAT=tsv)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if path.suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False, encoding="utf-8")
    else:
        frame.to_excel(path, index=False)
    return path


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"index": 0, "answer": "x"}], "no 'prediction' column"),
        ([{"prediction": "x"}], "no 'index' column"),
        (
            [{"index": 0, "prediction": "a"}, {"index": 99, "prediction": "b"}],
            "index 99 is not in MMRole_Demo",
        ),
        (
            [{"index": 0, "prediction": "a"}, {"index": 0, "prediction": "b"}],
            "index 0 repeats an earlier row",
        ),
        ([{"index": 1, "id": "someone_else_3", "prediction": "a"}], "is sample '"),
    ],
)
def test_a_bad_prediction_file_is_one_line_naming_file_and_column(
    lmu_data: Path, vlmeval, tmp_path: Path, rows: list[dict], message: str
) -> None:
    from vlmeval.dataset import build_dataset

    dataset = build_dataset("MMRole_Demo")
    path = _prediction_file(tmp_path / "Model_MMRole_Demo.xlsx", rows)
    with pytest.raises(DataError, match=message) as info:
        dataset.evaluate(str(path), model="judge", api_base="http://127.0.0.1:9/v1")
    assert info.value.file == str(path) and "\n" not in str(info.value)
    assert info.value.field in ("index", "prediction", "id")


def test_unknown_judge_arguments_are_refused_before_any_call(lmu_data: Path, vlmeval, tmp_path: Path) -> None:
    from vlmeval.dataset import build_dataset

    dataset = build_dataset("MMRole_Demo")
    path = _prediction_file(tmp_path / "M_MMRole_Demo.xlsx", [{"index": 0, "prediction": "hi"}])
    with pytest.raises(ConfigError, match=r"unknown judge argument\(s\) \['temprature'\]"):
        dataset.evaluate(str(path), model="judge", temprature=0.2)


@pytest.mark.parametrize("suffix", [".xlsx", ".tsv"])
def test_a_prediction_file_with_index_and_prediction_only_is_judged_against_the_dataset(
    lmu_data: Path, vlmeval, demo_images, tmp_path: Path, suffix: str
) -> None:
    from tiny_vlmeval import TinyJudge
    from vlmeval.dataset import build_dataset

    dataset = build_dataset("MMRole_Demo")
    rows = [{"index": i, "prediction": f"answer {i}"} for i in (0, 5, 6)]
    path = _prediction_file(tmp_path / f"Three_MMRole_Demo{suffix}", rows)
    with LocalOpenAIServer(TinyJudge(demo_images)) as server:
        frame = dataset.evaluate(str(path), model=f"openai:rm@{server.base_url}", metrics="Fluency,Coherency")
    assert server.received == 3 * 2
    assert list(frame.columns) == ["subset", "Fluency", "Coherency", "Overall", "n"]
    assert frame.set_index("subset").loc["All", "n"] == 3
    assert (tmp_path / f"Three_MMRole_Demo_rm{suffix}").is_file()  # the judge file, in the same format
    run = tmp_path / "Three_MMRole_Demo_rm_mmrole"
    answers = [json.loads(line) for line in (run / "answers.jsonl").open()]
    samples = list(load_samples("demo"))
    assert [(a["id"], a["answer"]) for a in answers] == [(samples[i].id, f"answer {i}") for i in (0, 5, 6)]


def test_a_tsv_changed_since_mmrole_wrote_it_is_refused(lmu_data: Path, vlmeval) -> None:
    from vlmeval.dataset import build_dataset

    build_dataset("MMRole_Demo")
    tsv = lmu_data / "MMRole_Demo.tsv"
    tsv.write_text(tsv.read_text().replace("Please step into", "Please stp into", 1))
    with pytest.raises(
        DataError, match=r"MD5 [0-9a-f]{32} differs from [0-9a-f]{32}, recorded in MMRole_Demo.tsv.md5"
    ) as info:
        build_dataset("MMRole_Demo")
    assert info.value.file == str(tsv)


def test_a_missing_tsv_says_how_to_write_it_and_a_wrong_split_is_refused(lmu_data: Path, vlmeval) -> None:
    from vlmeval.dataset import build_dataset

    with pytest.raises(
        DataError, match="not found: write it with `mmrole data convert DATA --to vlmeval-tsv"
    ):
        build_dataset("MMRole_InTest")
    # The demo set holds out-of-distribution samples too: it is no In-Test file.
    write_vlmeval_tsv(load_samples("demo"), image_root("demo"), lmu_data / "MMRole_InTest.tsv")
    with pytest.raises(DataError, match="MMRole_InTest holds in-distribution samples only") as info:
        build_dataset("MMRole_InTest")
    assert info.value.field == "split"
