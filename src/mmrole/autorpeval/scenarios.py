"""AutoRPEval's scenario stage: each role's chats (partner, scene, emotions, intimacy).

By default the chats are those of the role files (the released test set: ten per role).
:func:`generate_scenarios` makes them instead, as BeyondDialogue's ``DataGen`` scripts do, with
its prompts (:mod:`mmrole.prompts.autorpeval_generation`): ``gen_role`` (the partners, one at a
time, each later one told the earlier ones), then ``gen_scene``, ``gen_emotion`` and
``gen_relationship`` for each partner. Replies are parsed as those scripts parse them (the last
``{...}``, ``ast.literal_eval``); a reply that does not parse, or gives a score off the 0-10 scale,
is asked again as another draw of the same prompt (BeyondDialogue's ``retry_on_failure``), up to
``retries`` times. A partner that still fails is left out and counted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mmrole.autorpeval.calls import Calls
from mmrole.autorpeval.roles import Role
from mmrole.autorpeval.texts import mbti_text, shown_labels
from mmrole.engine import Request
from mmrole.errors import DataError
from mmrole.models.base import Backend, GenerationParams, Message
from mmrole.prompts import autorpeval_generation as generation
from mmrole.schema import EMOTIONS, EMOTIONS_ZH

__all__ = ["ScenarioSummary", "generate_feelings", "generate_scenarios", "take_scenarios"]

_LAST_OBJECT = re.compile(r"{[^}]*}", re.DOTALL)
_SYSTEM = "You are a helpful assistant."


def take_scenarios(roles: Sequence[Role], limit: int | None = None) -> list[Role]:
    """The roles with their own chats (the first ``limit`` of each)."""
    return [role.with_chats({s.partner: role.chat(s.partner) for s in role.scenes[:limit]}) for role in roles]


@dataclass
class ScenarioSummary:
    """What generation did: partners asked for, partners made, failures, calls made."""

    n_asked: int = 0
    n_made: int = 0
    n_failed: int = 0
    n_calls: int = 0


def _prompt(role: Role, name: str) -> str:
    return getattr(generation, f"{name}_{role.language.upper()}")


def _role_fields(role: Role) -> dict[str, str]:
    # The DataGen scripts show traits and style as the questions do, and the MBTI in words.
    return {
        "role_name": role.name,
        "character": shown_labels(role.traits, role.language),
        "MBTI": mbti_text(role.mbti, role.language),
        "style": shown_labels(role.style, role.language),
        "world": role.profile.world or "",
    }


def _last_object(reply: str) -> dict[str, Any]:
    matches = _LAST_OBJECT.findall(reply)
    if not matches:
        raise ValueError("no {...} in the reply")
    found = ast.literal_eval(matches[-1])
    if not isinstance(found, dict):
        raise ValueError("the last {...} is not an object")
    return found


def _partner(reply: str) -> tuple[str, str]:
    found = _last_object(reply)
    if not isinstance(found.get("chat_role"), str) or not isinstance(found.get("role_des"), str):
        raise ValueError("no chat_role and role_des")
    return found["chat_role"], found["role_des"]


def _scene(reply: str) -> str:
    found = _last_object(reply)
    if not isinstance(found.get("scene"), str):
        raise ValueError("no scene")
    return found["scene"].strip()


def _emotions(language: str) -> Callable[[str], dict[str, int]]:
    valid = EMOTIONS_ZH if language == "cn" else EMOTIONS

    def parse(reply: str) -> dict[str, int]:
        found = _last_object(reply)
        scores = {key: int(found[key]) for key in found if key in valid}
        if len(scores) != 6 or not all(0 <= score <= 10 for score in scores.values()):
            raise ValueError("not six emotions 0-10")
        return scores

    return parse


def _intimacy(reply: str) -> float:
    score = float(_last_object(reply)["relationship"])
    if not 0 <= score <= 10:
        raise ValueError("intimacy off the 0-10 scale")
    return score


async def _ask(
    calls: Calls,
    generator: Backend,
    asks: list[tuple[str, list[Message]]],
    parsers: list[Callable[[str], Any]],
    params: GenerationParams,
    retries: int,
    label: str,
) -> list[tuple[Any, str] | None]:
    """Each ask's answer (read by its parser) and reply, re-drawn up to ``retries`` times (None: it
    never parsed)."""
    answers: list[tuple[Any, str] | None] = [None] * len(asks)
    pending = list(range(len(asks)))
    for attempt in range(retries + 1):
        if not pending:
            break
        draw = replace(params, draw=params.draw + attempt)
        suffix = f"::retry{attempt}" if attempt else ""
        requests = [Request(asks[i][0] + suffix, asks[i][1], draw) for i in pending]
        results = await calls.run(generator, requests, label + (f" (retry {attempt})" if attempt else ""))
        retry = []
        for index, result in zip(pending, results, strict=True):
            if result.completion is None:
                continue  # a request error: the engine retried it already
            try:
                answers[index] = (parsers[index](result.completion.text), result.completion.text)
            except Exception:  # noqa: BLE001 - as retry_on_failure: any failure to read it is re-asked
                retry.append(index)
        pending = retry
    return answers


def _messages(text: str) -> list[Message]:
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": text}]


#: The steps after the partner: (prompt, label, parser of a role, chat key, analysis key).
_Step = tuple[str, str, Callable[[Role], Callable[[str], Any]], str, str | None]
_STEPS: list[_Step] = [
    ("SCENE", "scene", lambda role: _scene, "scene", None),
    ("EMOTIONS", "emotions", lambda role: _emotions(role.language), "emotions", "emotions_analyse"),
    ("INTIMACY", "intimacy", lambda role: _intimacy, "relationship_score", "relationship_analyse"),
]


async def _fill(
    roles: Sequence[Role],
    made: dict[int, dict[str, dict[str, Any]]],
    steps: Sequence[_Step],
    generator: Backend,
    calls: Calls,
    params: GenerationParams,
    retries: int,
) -> int:
    """Ask each step for every chat in ``made`` (index of a role -> its chats), in place; a chat whose
    answer never parses is dropped. Returns how many were dropped."""
    failed = 0
    for prompt, label, parser, key, analysis in steps:
        asks, owners, parsers = [], [], []
        for index, role in enumerate(roles):
            for name, chat in made[index].items():
                fields = {**_role_fields(role), "chat_role": name, "role_des": chat["role_des"]}
                text = _prompt(role, prompt).format(**fields, scene=chat.get("scene", ""))
                asks.append((f"scenarios:{role.language}/{role.name}/{name}/{label}", _messages(text)))
                owners.append((index, name))
                parsers.append(parser(role))
        answers = await _ask(calls, generator, asks, parsers, params, retries, f"scenarios: {label}")
        for (index, name), answer in zip(owners, answers, strict=True):
            if answer is None:
                failed += 1
                del made[index][name]  # a partner without a scene, emotions or intimacy is no chat
                continue
            made[index][name][key] = answer[0]
            if analysis:
                made[index][name][analysis] = answer[1]
    return failed


def _with_chats(roles: Sequence[Role], made: dict[int, dict[str, dict[str, Any]]]) -> list[Role]:
    done = []
    for index, role in enumerate(roles):
        try:
            done.append(role.with_chats(made[index]))
        except DataError as err:  # cannot happen for parsed answers; said plainly if it does
            raise DataError(f"a generated chat is not valid: {err.reason}", record=role.name) from None
    return done


async def generate_feelings(
    roles: Sequence[Role],
    generator: Backend,
    calls: Calls,
    *,
    retries: int = 4,
    params: GenerationParams | None = None,
) -> tuple[list[Role], ScenarioSummary]:
    """The roles' own chats (their partners and scenes kept: MMRole-Data's images, ``--data``) with the
    emotions and the intimacy generated by DataGen's ``gen_emotion`` and ``gen_relationship``."""
    params = params or GenerationParams(max_tokens=1024, temperature=1.0)
    before = calls.made
    made = {index: {s.partner: role.chat(s.partner) for s in role.scenes} for index, role in enumerate(roles)}
    asked = sum(len(chats) for chats in made.values())
    failed = await _fill(roles, made, _STEPS[1:], generator, calls, params, retries)
    summary = ScenarioSummary(
        n_asked=asked,
        n_made=sum(len(chats) for chats in made.values()),
        n_failed=failed,
        n_calls=calls.made - before,
    )
    return _with_chats(roles, made), summary


async def generate_scenarios(
    roles: Sequence[Role],
    generator: Backend,
    calls: Calls,
    *,
    partners: int = 10,
    retries: int = 4,
    params: GenerationParams | None = None,
) -> tuple[list[Role], ScenarioSummary]:
    """Generate ``partners`` chats for each role (see the module docstring)."""
    params = params or GenerationParams(max_tokens=1024, temperature=1.0)
    before = calls.made
    made: dict[int, dict[str, dict[str, Any]]] = {index: {} for index in range(len(roles))}
    failed = 0
    for number in range(partners):
        asks = []
        for index, role in enumerate(roles):
            # As gen_role: None for the first partner (its prompt shows "None"), then RoleReference
            # wrapped around construct_role_reference's text, itself already wrapped in RoleReference.
            reference: str | None = None
            if number:
                lines = "".join(f"{name}: {chat['role_des']}\n" for name, chat in made[index].items())
                inner = _prompt(role, "ROLE_REFERENCE").format(reference=lines)
                reference = _prompt(role, "ROLE_REFERENCE").format(reference=inner)
            text = _prompt(role, "PARTNER").format(**_role_fields(role), role_reference=reference)
            asks.append((f"scenarios:{role.language}/{role.name}/partner{number + 1}", _messages(text)))
        label = f"scenarios: partner {number + 1}/{partners}"
        answers = await _ask(calls, generator, asks, [_partner] * len(asks), params, retries, label)
        for index, answer in enumerate(answers):
            if answer is None:
                failed += 1
                continue
            (name, description), _ = answer
            made[index][name] = {
                "chat_role": name,
                "role_des": description.strip() if number == 0 else description,
            }
    failed += await _fill(roles, made, _STEPS, generator, calls, params, retries)
    done = _with_chats(roles, made)
    summary = ScenarioSummary(
        n_asked=partners * len(roles),
        n_made=sum(len(chats) for chats in made.values()),
        n_failed=failed,
        n_calls=calls.made - before,
    )
    return done, summary
