"""The command a VLMEvalKit user types: VLMEvalKit's own ``run.py`` (its ``main``), with mmrole's
classes registered by ``python -m mmrole.integrations.vlmeval_run``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from mmrole.errors import ConfigError
from mmrole.integrations.vlmeval_run import main, split_arguments
from mmrole.schema import METRICS
from mmrole.testing.server import LocalOpenAIServer


def test_the_mmrole_model_flag_is_taken_out_of_vlmevalkits_arguments() -> None:
    models, rest = split_arguments(
        [
            "--data",
            "MMRole_InTest",
            "--mmrole-model",
            "a=openai:a@http://h:1/v1",
            "--mmrole-model=b=demo",
            "--model",
            "a",
        ]
    )
    assert models == [("a", "openai:a@http://h:1/v1"), ("b", "demo")]
    assert rest == ["--data", "MMRole_InTest", "--model", "a"]
    with pytest.raises(ConfigError, match="--mmrole-model takes NAME=SPEC"):
        split_arguments(["--mmrole-model", "openai:a"])


def test_vlmevalkits_run_infers_and_evaluates_mmrole_demo(
    lmu_data: Path, tiny_models, demo_images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiny_vlmeval import TinyJudge

    work = tmp_path / "outputs"
    monkeypatch.chdir(tmp_path)
    with LocalOpenAIServer(TinyJudge(demo_images)) as judge_server, LocalOpenAIServer() as mrpa_server:
        monkeypatch.setattr(sys, "argv", ["vlmeval_run"])
        main(
            ["--data", "MMRole_Demo", "--model", "TinyRolePlayer", "mrpa", "--work-dir", str(work)]
            + ["--mmrole-model", f"mrpa=openai:mrpa@{mrpa_server.base_url}"]
            + ["--judge", "mmrole-eval-rm", "--judge-base-url", judge_server.base_url, "--api-nproc", "2"]
        )
        assert judge_server.received == 2 * 8 * len(METRICS)
        assert mrpa_server.received == 8
    for model in ("TinyRolePlayer", "mrpa"):
        predictions = pd.read_excel(work / model / f"{model}_MMRole_Demo.xlsx")
        assert len(predictions) == 8
        scores = pd.read_csv(work / model / f"{model}_MMRole_Demo_score.csv")
        results = json.loads(
            (work / model / f"{model}_MMRole_Demo_mmrole-eval-rm_mmrole" / "results.json").read_text()
        )
        assert scores.iloc[0]["subset"] == "All"
        assert scores.iloc[0]["Overall"] == pytest.approx(results["overall"]["mean"])
    assert predictions["prediction"].str.startswith("Reply to: ").all()  # mrpa answered through mmrole
