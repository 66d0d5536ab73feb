"""MMRoleModel: an mmrole model spec as a VLMEvalKit model, answering through VLMEvalKit's own
inference loop (``infer_data_job``) and mmrole's engine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data import image_root, load_samples
from mmrole.images import file_data_url
from mmrole.integrations.vlmeval_predictions import import_predictions
from mmrole.testing.responders import InjectedError
from mmrole.testing.server import LocalOpenAIServer


def whole_request(messages: list[dict]) -> str:
    """A reply made of every byte of the request (system text, image data URL, instruction)."""
    if "Hypothetical" in json.dumps(messages):
        raise InjectedError(400, "this server does not talk about hypothetical people")
    return "MRPA " + hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]


def _infer(model, work: Path, name: str):
    from vlmeval.dataset import build_dataset
    from vlmeval.inference import infer_data_job

    dataset = build_dataset("MMRole_Demo")
    work.mkdir(parents=True, exist_ok=True)
    infer_data_job(model, work_dir=str(work), model_name=name, dataset=dataset, api_nproc=4)
    return pd.read_excel(work / f"{name}_MMRole_Demo.xlsx", dtype=str, keep_default_na=False)


def test_vlmeval_inference_through_an_mmrole_spec_sends_what_mmrole_answer_sends(
    lmu_data: Path, vlmeval, tmp_path: Path
) -> None:
    from mmrole.integrations.vlmeval_model import FAIL_MSG, MMRoleModel

    with LocalOpenAIServer(whole_request) as server:
        spec = f"openai:mrpa@{server.base_url}"
        run = tmp_path / "run"
        result = CliRunner().invoke(
            app,
            [
                "answer",
                "--agent",
                spec,
                "--data",
                "demo",
                "--run",
                str(run),
                "--no-progress",
                "--max-failures",
                "8",
            ],
        )
        assert result.exit_code == 0, result.output
        answered_calls = server.received

        # VLMEvalKit's inference with the run's store as the cache: every answer is already there,
        # so not one call is made -- the messages (system, image data URL, instruction) are the same.
        model = MMRoleModel(spec, cache=run / "store.sqlite", max_retries=0)
        try:
            table = _infer(model, tmp_path / "outputs", "MRPA")
        finally:
            model.close()
        answers = {r["id"]: r for r in map(json.loads, (run / "answers.jsonl").open())}
        ok = {i for i, a in answers.items() if a["answer"] is not None}
        calls_for_failed = server.received - answered_calls
        assert calls_for_failed == len(answers) - len(ok)  # failures are never cached, so asked again
        for _, row in table.iterrows():
            if row["id"] in ok:
                assert row["prediction"] == answers[row["id"]]["answer"]
            else:
                assert row["prediction"].startswith(FAIL_MSG) and "hypothetical people" in row["prediction"]
        assert 0 < len(ok) < len(answers)
        # Imported back, a failed prediction is a failed answer with the server's error.
        imported = tmp_path / "imported"
        import_predictions(tmp_path / "outputs" / "MRPA_MMRole_Demo.xlsx", name="MRPA", run_dir=imported)
        back = {r["id"]: r for r in map(json.loads, (imported / "answers.jsonl").open())}
        assert {i for i, r in back.items() if r["answer"] is not None} == ok
        for i in set(back) - ok:  # the same error mmrole answer recorded for the sample
            assert back[i]["error"] == answers[i]["error"] and "hypothetical people" in back[i]["error"]

        # With a cache of its own it asks the server, which answers the same.
        fresh = MMRoleModel(spec, cache=tmp_path / "fresh.sqlite")
        try:
            again = _infer(fresh, tmp_path / "outputs-fresh", "MRPA")
        finally:
            fresh.close()
        assert server.received - answered_calls - calls_for_failed == len(answers)
        assert list(again["prediction"]) == list(table["prediction"])


def test_other_benchmarks_get_plain_messages_and_the_system_prompt_option(vlmeval, tmp_path: Path) -> None:
    from mmrole.integrations.vlmeval_model import MMRoleModel

    sample = next(iter(load_samples("demo")))
    image = str(image_root("demo") / sample.image)
    with LocalOpenAIServer() as server:
        model = MMRoleModel(
            f"openai:m@{server.base_url}", cache=False, system_prompt="Be brief.", max_tokens=7
        )
        try:
            answer = model.generate(
                [{"type": "image", "value": image}, {"type": "text", "value": "What is it?"}],
                "MMBench_DEV_EN",
            )
            assert not model.use_custom_prompt("MMBench_DEV_EN") and model.use_custom_prompt("MMRole_InTest")
            payload = server.last_payload
            chat = model.chat(
                [
                    {"role": "user", "content": [{"type": "text", "value": "Hi"}]},
                    {"role": "assistant", "content": [{"type": "text", "value": "Hello"}]},
                    {"role": "user", "content": [{"type": "text", "value": "Bye"}]},
                ],
                "MMDU",
            )
            chat_payload = server.last_payload
        finally:
            model.close()
    assert answer == "Reply to: What is it?" and chat == "Reply to: Bye"
    assert payload["max_tokens"] == 7
    assert payload["messages"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": file_data_url(image)}},
                {"type": "text", "text": "What is it?"},
            ],
        },
    ]
    assert [m["role"] for m in chat_payload["messages"]] == ["system", "user", "assistant", "user"]
    assert chat_payload["messages"][2]["content"] == "Hello"
