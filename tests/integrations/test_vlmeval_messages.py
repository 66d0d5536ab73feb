"""OpenAI chat messages <-> VLMEvalKit messages, and VLMEvalKit's judge arguments (pure: no vlmeval)."""

from __future__ import annotations

import pytest

from mmrole.data import image_root, load_samples
from mmrole.data.convert import to_openai_messages, to_vlmeval_messages
from mmrole.errors import ConfigError
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.integrations.vlmeval_judge import judge_setup
from mmrole.integrations.vlmeval_messages import openai_chat, openai_messages, user_text, vlmeval_turns


def _file_of(url: str) -> str:
    return f"FILE<{url[:22]}>"


def test_an_mmrole_sample_becomes_the_mmrole_datasets_prompt_layout() -> None:
    sample = next(iter(load_samples("demo")))
    messages = to_openai_messages(sample, image_root("demo"))
    turns, system = vlmeval_turns(messages, _file_of)
    assert system == sample.system
    assert turns == [
        {
            "role": "user",
            "content": [
                {"type": "image", "value": _file_of(messages[1]["content"][0]["image_url"]["url"])},
                {"type": "text", "value": f"{sample.system}\n\n{sample.instruction}"},
            ],
        }
    ]
    # ... which is what the data converter gives VLMEvalKit for the same sample.
    layout = to_vlmeval_messages(sample, image_root("demo"))
    assert [i["type"] for i in layout] == ["image", "text"] and layout[1] == turns[0]["content"][1]
    assert user_text(messages) == sample.instruction


def test_system_text_without_user_text_and_the_conversation_checks() -> None:
    turns, _ = vlmeval_turns(
        [
            {"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "/x.png"}}]},
        ],
        lambda url: url,
    )
    assert turns[0]["content"] == [{"type": "image", "value": "/x.png"}, {"type": "text", "value": "A\n\nB"}]
    for bad, message in [
        ([{"role": "tool", "content": "x"}, {"role": "user", "content": "y"}], "unknown role 'tool'"),
        (
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ho"}],
            "must end with a user message",
        ),
        ([{"role": "user", "content": [{"type": "input_audio"}]}], "not 'input_audio'"),
        (
            [
                {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
                {"role": "user", "content": "q"},
            ],
            "holds text only",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            vlmeval_turns(bad, lambda url: url)


def test_vlmeval_messages_become_openai_messages() -> None:
    url = lambda path: f"data:{path}"  # noqa: E731
    items = [
        {"type": "text", "value": "Be Iron Man.", "role": "system"},
        {"type": "image", "value": "/a.png"},
        {"type": "text", "value": "Hi"},
    ]
    assert openai_messages(items, url, system="Stay in character.") == [
        {"role": "system", "content": "Stay in character.\n\nBe Iron Man."},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:/a.png"}},
                {"type": "text", "text": "Hi"},
            ],
        },
    ]
    chat = openai_chat(
        [
            {
                "role": "user",
                "content": [{"type": "image", "value": "/a.png"}, {"type": "text", "value": "Q1"}],
            },
            {"role": "assistant", "content": [{"type": "text", "value": "A1"}]},
            {"role": "user", "content": "Q2"},
        ],
        url,
    )
    assert [(m["role"], m["content"] if m["role"] == "assistant" else len(m["content"])) for m in chat] == [
        ("user", 2),
        ("assistant", "A1"),
        ("user", 1),
    ]
    with pytest.raises(ValueError, match="not 'video'"):
        openai_messages([{"type": "video", "value": "/v.mp4"}], url)


def test_vlmevalkits_judge_arguments_become_an_mmrole_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    setup = judge_setup(
        {
            "model": "mmrole-eval-rm",
            "api_base": "http://127.0.0.1:8001/v1/chat/completions",
            "key": "sk-x",
            "nproc": 16,
            "retry": 3,
            "timeout": 600,
            "verbose": False,
            "swap": True,
            "metrics": "Fluency, Coherency",
        }
    )
    assert setup.spec == "openai:mmrole-eval-rm@http://127.0.0.1:8001/v1" and setup.tag == "mmrole-eval-rm"
    assert setup.backend_options == {"api_key": "sk-x", "timeout": 600.0}
    assert (setup.concurrency, setup.max_retries, setup.progress) == (16, 3, False)
    assert setup.options == JudgeOptions(swap=True, metrics=("Fluency", "Coherency"))
    # mmrole specs pass as they are; a bare name goes to $OPENAI_API_BASE, else OpenAI; the default judge.
    assert judge_setup({"model": "hf:/models/judge-rm/"}).spec == "hf:/models/judge-rm/"
    assert judge_setup({"model": "hf:/models/judge-rm/"}).tag == "judge-rm"
    assert judge_setup({"model": "demo", "key": "unused"}).backend_options == {}
    monkeypatch.setenv("OPENAI_API_BASE", "https://proxy.example/v1/chat/completions")
    assert judge_setup({"model": "gpt-4o"}).spec == "openai:gpt-4o@https://proxy.example/v1"
    monkeypatch.delenv("OPENAI_API_BASE")
    assert judge_setup({}).spec == "openai:gpt-4-turbo"
    assert judge_setup({"use_vllm": True, "model": "x"}).spec == "openai:x"
    with pytest.raises(ConfigError, match=r"unknown judge argument\(s\) \['temprature'\]"):
        judge_setup({"model": "x", "temprature": 0})
    with pytest.raises(ConfigError, match="unknown metric"):
        judge_setup({"model": "x", "metrics": ["Fluency", "Charm"]})
