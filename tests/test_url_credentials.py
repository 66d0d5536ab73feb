"""Keys written inside endpoint URLs: sent as credentials, never written or printed anywhere.

Each test runs answer + judge + report + leaderboard against the local server with a key in the URL
(``user:KEY@``, ``?api_key=KEY``, or ``$OPENAI_BASE_URL`` carrying one), then greps every file of
the run (store.sqlite bytes included), the report and leaderboard files and everything printed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.prompts.judge import JUDGE_SYSTEM
from mmrole.runs import read_run_info
from mmrole.testing.server import LocalOpenAIServer

runner = CliRunner()
KEY = "sk-url-KEY-7d1e9b3a"
#: form -> (spec, $OPENAI_BASE_URL or None, the spec run.json shows)
FORMS = {
    "userinfo": (
        "openai:test-model@http://user:{key}@{host}/v1",
        None,
        "openai:test-model@http://***@{host}/v1",
    ),
    "query": (
        "openai:test-model@http://{host}/v1?api_key={key}",
        None,
        "openai:test-model@http://{host}/v1?api_key=***",
    ),
    "env": ("openai:test-model", "http://{key}@{host}/v1", "openai:test-model@http://***@{host}/v1"),
}


def _agent_and_judge(messages: list[dict]) -> str:
    if messages[0]["content"] != JUDGE_SYSTEM:
        return "Ahoy! The lantern burns bright tonight."
    return "Both in character. [Scores]: (6, 8)"


def _invoke(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout + result.stderr + repr(result.exception or "")


def _leaks(folder: Path, key: str) -> list[str]:
    needle = key.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_in_the_url_is_sent_as_credential_and_written_nowhere(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spec_template, env_template, shown = FORMS[form]
    run, out = tmp_path / "run", tmp_path / "out"
    with LocalOpenAIServer(_agent_and_judge, require_api_key=KEY) as server:
        host = f"{server.host}:{server.port}"
        spec = spec_template.format(key=KEY, host=host)
        if env_template:
            monkeypatch.setenv("OPENAI_BASE_URL", env_template.format(key=KEY, host=host))
        printed = []
        for args in (
            ["answer", "--agent", spec, "--data", "demo", "--run", str(run), "--limit", "2"],
            ["judge", "--judge", spec, "--run", str(run), "--n-boot", "20"],
            ["report", str(run), "--out", str(out)],
            ["leaderboard", str(run), "--out", str(out / "board.md"), "--out", str(out / "board.csv")],
        ):
            code, output = _invoke([*args, "--no-progress"] if args[0] in ("answer", "judge") else args)
            printed.append(output)
            assert code == 0, output
        # The key reached the server as the bearer key (require_api_key 401s anything else) ...
        assert server.outcomes["401"] == 0 and server.outcomes["ok"] == 2 + 2 * 8
        # ... and the model name is the one before the URL, without any part of the key.
        assert server.last_payload["model"] == "test-model"
    assert _leaks(run, KEY) == [] and _leaks(out, KEY) == []
    assert KEY not in "".join(printed) + caplog.text
    info = read_run_info(run)
    assert info["agent"] == info["judge"] == shown.format(host=host)


def test_a_rejected_url_key_is_not_echoed_from_the_servers_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-URL-KEY-55aa"
    run = tmp_path / "run"
    with LocalOpenAIServer(_agent_and_judge, require_api_key=KEY) as server:
        spec = f"openai:test-model@http://{wrong}@{server.host}:{server.port}/v1"
        code, output = _invoke(
            ["answer", "--agent", spec, "--data", "demo", "--run", str(run), "--limit", "1"]
        )
        assert server.outcomes["401"] >= 1  # the server quotes the key it got in its 401 message
    assert code != 0
    assert "401" in output + caplog.text
    assert wrong not in output + caplog.text and _leaks(run, wrong) == []
