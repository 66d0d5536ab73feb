"""Backend options from the command line: ``--agent-arg KEY=VALUE`` / ``--judge-arg KEY=VALUE``.

Each key is checked against the backend's options dataclass and its value converted to the field's
type; they reach the HTTP request body and the local model's loading.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrole.errors import ConfigError
from mmrole.models.backend_options import HFOptions, OpenAIOptions
from mmrole.models.registry import backend_options, load_backend, parse_backend_args
from mmrole.testing.server import LocalOpenAIServer

THINKING_OFF = '{"chat_template_kwargs": {"enable_thinking": false}}'


def _answer(server: LocalOpenAIServer, run: Path, *extra: str) -> list[str]:
    agent = f"openai:m@{server.base_url}"
    return [
        "answer",
        "--agent",
        agent,
        "--data",
        "demo",
        "--limit",
        "2",
        "--run",
        str(run),
        "--no-progress",
        *extra,
    ]


def test_an_unknown_key_exits_2_naming_the_backend_the_key_and_the_valid_keys(run_mmrole, tmp_path) -> None:
    with LocalOpenAIServer(lambda messages: "fine") as server:
        line = run_mmrole.refused(*_answer(server, tmp_path / "run", "--agent-arg", "temprature=0.5"))
        assert server.received == 0  # refused before any call
    valid = ", ".join(field for field in OpenAIOptions.__dataclass_fields__)
    assert line == f"error: --agent-arg: openai backend: unknown option 'temprature'; valid options: {valid}"
    assert not (tmp_path / "run").exists()
    judge = run_mmrole.refused("judge", "--judge", "demo", "--run", tmp_path, "--judge-arg", "depth=2")
    assert (
        "--judge-arg: demo backend: unknown option 'depth'; valid options: device, device_map, dtype" in judge
    )
    bad = run_mmrole.refused(
        "judge", "--judge", "demo", "--run", tmp_path, "--judge-arg", "max_batch_size=lots"
    )
    assert bad == "error: --judge-arg: demo backend option max_batch_size: 'lots' is not an integer"
    assert "KEY=VALUE" in run_mmrole.refused(*_answer(server, tmp_path / "run", "--agent-arg", "timeout"))
    assert "api_key_env" in run_mmrole.refused(
        *_answer(server, tmp_path / "run", "--agent-arg", "api_key=sk-1")
    )


def test_extra_body_reaches_the_request_body_and_the_cache_key(run_mmrole, tmp_path) -> None:
    with LocalOpenAIServer(lambda messages: "fine") as server:
        code, _, err = run_mmrole(
            *_answer(server, tmp_path / "run", "--agent-arg", f"extra_body={THINKING_OFF}")
        )
        assert code == 0, err
        assert server.received == 2
        assert server.last_payload["chat_template_kwargs"] == {"enable_thinking": False}
        assert server.last_payload["model"] == "m" and server.last_payload["messages"]
        # Other extra fields are other answers: not served from the first run's store.
        args = _answer(
            server, tmp_path / "other", "--agent-arg", 'extra_body={"top_k": 5}', "--agent-arg", "timeout=30"
        )
        assert run_mmrole(*args)[0] == 0 and server.received == 4
        assert server.last_payload["top_k"] == 5 and "chat_template_kwargs" not in server.last_payload


def test_judge_arg_dtype_reaches_the_hf_backend(run_mmrole, tmp_path, monkeypatch) -> None:
    """``--judge-arg dtype=float32 --judge-arg max_batch_size=2`` loads the judge with those options."""
    import torch

    from mmrole.models import hf
    from mmrole.testing.tiny_models import build_tiny_causal_lm

    loaded: list[hf.HFBackend] = []

    class Recorded(hf.HFBackend):
        def __init__(self, path, **options):
            super().__init__(path, **options)
            self.given, self.weights_dtype = options, next(self.model.parameters()).dtype
            loaded.append(self)

    monkeypatch.setattr(hf, "HFBackend", Recorded)
    model = build_tiny_causal_lm(tmp_path / "lm")
    run = tmp_path / "run"
    with LocalOpenAIServer(lambda messages: "fine") as server:
        assert run_mmrole(*_answer(server, run))[0] == 0
    args = ["judge", "--judge", f"hf:{model}", "--run", run, "--limit", "1", "--metrics", "Fluency"]
    args += ["--format-retries", "0", "--judge-max-tokens", "4", "--no-progress", "--max-failures", "1"]
    code, out, err = run_mmrole(*args, "--judge-arg", "dtype=float32", "--judge-arg", "max_batch_size=2")
    assert code == 0, err
    assert "0/1 judgements scored" in out or "1/1 judgements scored" in out  # one sample, one metric
    (judge,) = loaded
    assert judge.given == {"dtype": "float32", "max_batch_size": 2}  # converted to the field's type
    assert judge.dtype == torch.float32 == judge.weights_dtype and judge.max_concurrency == 2
    # Another dtype loads other weights (float32 is also the CPU default: this shows the value is used).
    code, out, err = run_mmrole(*args, "--overwrite", "--judge-arg", "dtype=bfloat16")
    assert code == 0, err
    assert loaded[-1].weights_dtype == torch.bfloat16
    assert "1 calls made" in out  # not served from the float32 judgement in the store
    # A value the backend rejects reaches it too: its own error, one line.
    line = run_mmrole.refused(*args, "--overwrite", "--judge-arg", "dtype=float31")
    assert "unknown dtype 'float31'" in line


def test_values_are_converted_to_each_field_type() -> None:
    texts = ["extra_body=" + THINKING_OFF, "timeout=30", "max_image_side=none", "transport=httpx"]
    converted = backend_options("openai:m@http://h/v1", parse_backend_args(texts))
    assert converted == {
        "extra_body": {"chat_template_kwargs": {"enable_thinking": False}},
        "timeout": 30.0,
        "max_image_side": None,
        "transport": "httpx",
    }
    hf_texts = ["trust-remote-code=yes", "batch_wait_ms=2.5", "device_map=auto", 'device_map={"": "cpu"}']
    assert backend_options("hf:x", parse_backend_args(hf_texts[:3])) == {
        "trust_remote_code": True,
        "batch_wait_ms": 2.5,
        "device_map": "auto",
    }
    assert backend_options("hf:x", parse_backend_args(hf_texts[3:])) == {"device_map": {"": "cpu"}}
    with pytest.raises(ConfigError, match=r"replay backend: unknown option 'dtype'; valid options: none"):
        load_backend("replay:answers.jsonl", dtype="float32")
    with pytest.raises(ConfigError, match="is not JSON"):
        backend_options("openai:m", {"extra_body": "{oops"})
    with pytest.raises(ConfigError, match="is not true or false"):
        backend_options("hf:x", {"trust_remote_code": "maybe"})
    # The keys the command line takes are the backends' keyword arguments, with the same defaults.
    assert set(HFOptions.__dataclass_fields__) <= set(_keywords("mmrole.models.hf", "HFBackend"))
    assert set(OpenAIOptions.__dataclass_fields__) - {"api_key_env"} <= set(
        _keywords("mmrole.models.openai_compat", "OpenAICompatBackend")
    )


def _keywords(module: str, name: str) -> dict[str, object]:
    import importlib
    import inspect

    signature = inspect.signature(getattr(importlib.import_module(module), name).__init__)
    return {p.name: p.default for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY}


def test_the_options_dataclasses_and_the_constructors_agree_on_defaults() -> None:
    for module, name, options in (
        ("mmrole.models.hf", "HFBackend", HFOptions()),
        ("mmrole.models.openai_compat", "OpenAICompatBackend", OpenAIOptions()),
    ):
        keywords = _keywords(module, name)
        for field, default in vars(options).items():
            if field in keywords and keywords[field] is not None and default not in ({}, None):
                assert keywords[field] == default, (name, field)
    assert json.loads(THINKING_OFF)  # the fixture text is JSON
