"""mmrole's AutoRPEval against BeyondDialogue's own code: the same messages, the same parses.

BeyondDialogue's functions are taken out of its scripts (``protocol/``) and run here with recording
stand-ins for its API client, so each test compares what its code does with what mmrole does.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from beyond_code import load_module, reference_functions

from mmrole.autorpeval import load_roles
from mmrole.autorpeval.calls import Calls
from mmrole.autorpeval.dialogues import run_dialogues
from mmrole.autorpeval.questions import QUESTIONS, Unparsed, parse_answer, question_messages
from mmrole.autorpeval.texts import dialogue_text, masked_dialogue, masked_scene
from mmrole.engine.options import EngineOptions
from mmrole.models.base import GenerationParams
from mmrole.testing import ScriptedBackend

QUIET = EngineOptions(progress=False)


def _reply(side: str, messages: list[dict[str, Any]]) -> str:
    """A reply that depends on everything the speaker was sent, with a second line to be cut."""
    digest = hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode()).hexdigest()[:8]
    return f"  {side} says {digest} after {len(messages)} messages\nand a second line"


class _Client:
    """BeyondDialogue's OpenAIClient, recording: ``call(messages=..., model=..., n=1) -> ([reply], cost)``."""

    def __init__(self, side: str):
        self.side, self.sent = side, []

    def call(self, messages, model, n=1, temperature=None):
        self.sent.append(messages)
        return [_reply(self.side, messages)], 0


@pytest.mark.parametrize("name", ["roles_en/Harry.json", "roles_zh/刘备.json"])
def test_each_side_sees_the_history_as_beyonddialogues_loop_gives_it(beyond: Path, name: str) -> None:
    utils = load_module(beyond / "protocol" / "utils.py")
    dialog_prompts = load_module(beyond / "prompts" / "AutoDialog__prompts.py")
    data = json.loads((beyond / "autorpeval" / name).read_text(encoding="utf-8"))
    language = "cn" if name.startswith("roles_zh") else "en"
    namespace = {
        "language": language,
        "construct_emotion": utils.construct_emotion,
        "construct_emotion_en": utils.construct_emotion_en,
        "ChatRoleSysPrompt": dialog_prompts.ChatRoleSysPrompt
        if language == "cn"
        else dialog_prompts.ChatRoleSysPromptEN,
        "MaxTrun": 10,
        "ALL_Cost": 0,
        "model_config": {},
        "OpenAIClient": object,
    }
    script = beyond / "protocol" / "AutoDialog__auto_dialogues.py"
    theirs = reference_functions(script, {"process_chat_role", "chat_role_speak", "role_speak"}, namespace)
    role = load_roles(beyond / "autorpeval" / name)[0]
    partners = list(data["chats"])[:2]
    expected = {}
    role_client, partner_client = _Client("role"), _Client("partner")
    for partner in partners:
        _, turns = theirs["process_chat_role"](
            "tested-model", role.name, data, partner, data["chats"][partner], role_client, partner_client
        )
        expected[partner] = turns

    agent = ScriptedBackend(lambda call: _reply("role", call.messages))
    simulator = ScriptedBackend(lambda call: _reply("partner", call.messages))
    role = role.with_chats({p: role.chat(p) for p in partners})
    done, summary = asyncio.run(
        run_dialogues(
            [role],
            agent,
            simulator,
            Calls(None, QUIET.run_kwargs()),
            rounds=5,
            agent_params=GenerationParams(),
            simulator_params=GenerationParams(),
        )
    )
    assert summary.n_turns == 20 and summary.n_failed == 0
    assert {p: done[0].chat(p)["dialogues"] for p in partners} == expected
    # Call by call, each side was sent exactly BeyondDialogue's messages (turns advance chat by chat
    # there, all chats together here: compared per chat).
    for client, backend in ((role_client, agent), (partner_client, simulator)):
        ours = sorted(json.dumps(call.messages, ensure_ascii=False) for call in backend.calls)
        assert ours == sorted(json.dumps(m, ensure_ascii=False) for m in client.sent)
        assert len(ours) == 10
    assert partner_client.sent[0][-1] == {"role": "user", "content": ""}  # the partner opens on an empty turn


_REPLIES = [
    'Analysis... {"character": "Brave, kind , wise"}',
    '{"character": "brave，strong"} and later {"character": "kind"}',
    '{"character": ["brave"]}',
    "no json at all",
    '{"character": "brave", }',
    '{"style": "Direct, smart, loud"}',
    '{"style": "古风、直率，抒情"}',
    '{"happiness": 3, "sadness": "4", "disgust": 0, "fear": 1.9, "surprise": 2, "anger": 7}',
    '{"happiness": 3, "sadness": 4, "disgust": 0, "fear": 1}',
    '{"快乐": 3, "悲伤": 4, "厌恶": 0, "恐惧": 1, "惊讶": 2, "愤怒": 7}',
    '{"happiness": "high", "sadness": 4, "disgust": 0, "fear": 1, "surprise": 2, "anger": 7}',
    '{"relationship": "7.5"}',
    '{"relationship": "close"}',
    '{"personality": " INTJ "}',
    '{"personality": "XNTJ"}',
    '{"personality": "INTJP"}',
    '{"personality": "INT"}',
    '{"is_real_dialogue": "true"}',
    '{"is_real_dialogue": true}',
    '{"is_coherent": "false"}',
    '{"is_coherent": "maybe"}',
    '{"answer": "b"}',
    '{"answer": "AB"}',
    '{"answer": "E"}',
    "{1, 2}",
]
#: Replies BeyondDialogue's parsers accept and mmrole refuses (documented in mmrole.autorpeval.questions).
_STRICTER = {("personality", '{"personality": "INT"}'), ("rolechoice", '{"answer": "E"}')}


@pytest.mark.parametrize("language", ["en", "cn"])
def test_answers_are_parsed_as_beyonddialogue_parses_them(beyond: Path, language: str) -> None:
    role = load_roles(
        beyond / "autorpeval" / ("roles_en/Harry.json" if language == "en" else "roles_zh/刘备.json")
    )[0]
    utils = load_module(beyond / "protocol" / "utils.py")
    parsers = {}
    for question, function in (
        ("character", "extrct_characters"),
        ("style", "extrct_styles"),
        ("emotion", "extrct_emotions"),
        ("relationship", "extrct_relationship"),
        ("personality", "extrct_personalitys"),
        ("human_likeness", "extrct_human_likeness"),
        ("coherence", "extrct_coherence"),
        ("rolechoice", "extrct_rolechoice"),
    ):
        namespace = {
            "language": language,
            "re": __import__("re"),
            "ast": __import__("ast"),
            "MBTIMAP": utils.MBTIMAP,
        }
        parsers[question] = reference_functions(
            beyond / "protocol" / f"AutoTest__{question}.py", {function}, namespace
        )[function]
    # The candidates as eval_role_character / eval_role_style build them.
    if language == "cn":
        candidates = {
            "character": role.traits.replace(",", "，").split("，"),
            "style": role.style.split("、"),
        }
    else:
        candidates = {
            "character": role.traits.lower().replace("，", ",").split(","),
            "style": role.style.lower().split(","),
        }
    replies = [*_REPLIES, '{"character": "坚韧，谦虚, 仁爱"}', '{"style": "古风，谦虚"}']
    compared = 0
    for question in QUESTIONS:
        for reply in replies:
            extra = (candidates[question],) if question in candidates else ()
            try:
                expected, refused = parsers[question](reply, *extra), False
            except Exception:  # noqa: BLE001 - any exception there means "recorded as None"
                expected, refused = None, True
            if refused or (question, reply) in _STRICTER:
                with pytest.raises(Unparsed):
                    parse_answer(question, reply, role)
            else:
                assert parse_answer(question, reply, role) == expected, (question, reply)
                compared += 1
    assert compared >= 12


def test_questions_are_beyonddialogues_prompts_and_masks(beyond: Path) -> None:
    utils = load_module(beyond / "protocol" / "utils.py")
    prompts_en = load_module(beyond / "prompts" / "AutoTest__prompts_en.py")
    harry = load_roles(beyond / "autorpeval" / "roles_en" / "Harry.json")[0]
    chat = harry.chat("Elara")
    chat["dialogues"] = [
        {"role": "Elara", "dialogue": "Harry, the runes glow. Harry Potter, look."},
        {"role": "Harry", "dialogue": "I see them, Elara."},
    ]
    assert dialogue_text(chat["dialogues"]) == utils.construct_str_dialogue(chat["dialogues"])
    assert masked_dialogue(chat["dialogues"], "en") == utils.construct_masked_dialogue_en(chat["dialogues"])
    assert masked_dialogue(chat["dialogues"], "cn") == utils.construct_masked_dialogue(chat["dialogues"])
    for scene, name in (
        ("Harry Potter meets Harry.", "Harry"),
        ("Albus Percival Wulfric sighs.", "Albus Percival Wulfric"),
    ):
        assert masked_scene(scene, name, "en") == utils.construct_masked_scene_en(scene, name)
        assert masked_scene(scene, name, "cn") == utils.construct_masked_scene(scene, name)
    messages = question_messages("emotion", harry, chat)
    assert messages[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert messages[1]["content"] == prompts_en.EmotionScalePrompt.format(
        role_name="Harry",
        character="brave, kind, strong, clear in love and hate",
        dialogues=utils.construct_str_dialogue(chat["dialogues"]),
        scene=chat["scene"],
        MBTI=utils.generate_MBTI_str_en("ISFP"),
        style="direct, smart",
    )
    masked = question_messages("rolechoice", harry, chat)[1]["content"]
    assert masked == prompts_en.RoleChoicePrompt.format(
        role_name="Harry",
        dialogues=utils.construct_masked_dialogue_en(chat["dialogues"]),
        role_candidates=harry.candidates,
        scene=utils.construct_masked_scene_en(chat["scene"], "Harry"),
        chat_role="Elara",
    )
    assert "[Role]]" in masked  # BeyondDialogue's typo, kept: its prompts are its prompts
    again = question_messages("emotion", harry, chat, attempt=1)[1]["content"]
    assert again.startswith(messages[1]["content"]) and again.endswith("JSON format given above.")
