"""``mmrole build cserp`` and ``mmrole autorpeval cserp``: CSERP training samples and the CSERP test.

:func:`build_cserp` turns role files whose chats carry ``dialogues`` (an AutoRPEval run's
dialogues, or BeyondDialogue's ``chat_dialogues`` files) into the five alignment tasks per chat
(:mod:`mmrole.autorpeval.cserp`), written as a Qwen-VL-format JSON file that ``mmrole train sft
--data FILE`` reads (``{"id", "system", "conversations": [user prompt, assistant answer]}``).

:func:`cserp_eval` asks ``--agent`` every item of ``CESRP_test.json`` through the engine (the
run's ``store.sqlite``: a rerun makes no call twice), parses each answer as
``CESRPExp/parse_uitls.py`` does, asking again (another draw) up to ``--retries`` times as
``CESRPExp/auto_test.py`` does, and writes ``RUN/cserp_results.json`` (the items with
``eval_result`` and ``rsp``, as BeyondDialogue writes them), ``RUN/cserp_scores.json`` and
``RUN/cserp.md``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from mmrole import files
from mmrole.autorpeval.cserp import (
    CSERP_TYPES,
    LOWER_IS_BETTER,
    cserp_scores,
    cserp_tasks,
    parse_cserp,
    task_answer,
    unlabelled,
)
from mmrole.autorpeval.options import _backend_args, _check_backend_args, _engine, require
from mmrole.engine.options import EngineOptions
from mmrole.errors import DataError
from mmrole.options import option

__all__ = [
    "BuiltCserp",
    "CserpBuildOptions",
    "CserpEvalOptions",
    "build_cserp",
    "cserp_eval",
    "cserp_eval_sync",
    "load_cserp",
]

_DRAW_STRIDE = 1000  # a re-ask's draw, far from any repeat index


@dataclass(kw_only=True)
class CserpBuildOptions:
    """``mmrole build cserp``."""

    roles: str | None = option(
        None,
        "Role files whose chats carry dialogues: an AutoRPEval run folder (its dialogues), or a folder or "
        "file of BeyondDialogue role files with chats[...].dialogues. Required.",
    )
    out: str | None = option(None, "The JSON file to write (Qwen-VL format, for mmrole train sft). Required.")
    seed: int = option(0, "Seeds the Character distractor and the candidates' order.")
    limit: int | None = option(None, "Only the first N chats of each role.", min=1)
    overwrite: bool = option(False, "Replace --out when it exists.")


@dataclass(kw_only=True)
class CserpEvalOptions:
    """``mmrole autorpeval cserp``."""

    agent: str | None = option(
        None, "The tested model: openai:MODEL[@URL], hf:PATH, replay:FILE or demo. Required."
    )
    data: str | None = option(None, "The CSERP test set (BeyondDialogue's CESRP_test.json). Required.")
    run: str | None = option(
        None, "The run folder (created when missing; a rerun resumes from its store). Required."
    )
    limit: int | None = option(None, "Only the first N items.", min=1)
    retries: int = option(
        4, "Re-asks of an answer that does not parse (BeyondDialogue: up to 5 tries).", min=0
    )
    temperature: float = option(0.7, "The tested model's temperature (BeyondDialogue: 0.7).", min=0.0)
    max_tokens: int = option(1024, "Longest answer in tokens.", min=1)
    agent_args: dict[str, Any] = _backend_args("agent")
    engine: EngineOptions = _engine()

    def __post_init__(self) -> None:
        _check_backend_args(self)


def _roles_with_dialogues(path: str) -> list[Any]:
    from mmrole.autorpeval.roles import load_roles
    from mmrole.autorpeval.run_folder import AutoRPEvalRun, is_autorpeval_run

    if is_autorpeval_run(path):
        run = AutoRPEvalRun(path)
        with run.lock():
            return run.roles("dialogues")
    return load_roles(path)


class BuiltCserp(NamedTuple):
    """What ``build cserp`` wrote: the file, its samples, and per task the chats left without it
    because their role lacks its label (e.g. an MMRole character has no traits, style or MBTI)."""

    out: Path
    samples: int
    not_derived: dict[str, int]


def build_cserp(options: CserpBuildOptions) -> BuiltCserp:
    """Write the CSERP training file (a chat's tasks whose label its role lacks are left out)."""
    require(options, "roles", "out")
    out = Path(options.out)  # type: ignore[arg-type]
    if out.exists() and not options.overwrite:
        raise DataError("exists (give --overwrite to replace it)", file=str(out))
    roles = _roles_with_dialogues(options.roles)  # type: ignore[arg-type]
    records: list[dict[str, Any]] = []
    not_derived: Counter[str] = Counter()
    for role in roles:
        from mmrole.autorpeval.texts import character_candidates

        others = [
            trait.strip()
            for other in roles
            if other.language == role.language and other.name != role.name
            for trait in character_candidates(other.traits, other.language)
            if trait.strip()
        ]
        for scene in role.scenes[: options.limit]:
            chat = role.chat(scene.partner)
            if not chat.get("dialogues") or chat.get("dialogue_error"):
                continue
            not_derived.update(unlabelled(role))
            for task in cserp_tasks(role, chat, distractors=others, seed=options.seed):
                records.append(
                    {
                        "id": f"cserp/{role.language}/{role.name}/{scene.partner}/{task['type']}",
                        "type": task["type"],
                        "language": task["language"],
                        "system": task["Q"][0]["content"],
                        "conversations": [
                            {"from": "user", "value": task["Q"][1]["content"]},
                            {
                                "from": "assistant",
                                "value": task_answer(task["type"], task["A"], role.language),
                            },
                        ],
                    }
                )
    if not records:
        raise DataError("no chat with a complete dialogue to derive tasks from", file=str(options.roles))
    files.write_json(out, records)
    return BuiltCserp(
        out, len(records), {kind: not_derived[kind] for kind in CSERP_TYPES if not_derived[kind]}
    )


def load_cserp(path: str | Path) -> list[dict[str, Any]]:
    """The items of a CSERP test file, checked (one line naming file, item and field)."""
    data = files.read_json(path)
    if not isinstance(data, list):
        raise DataError("not a JSON list of items", file=str(path))
    for index, item in enumerate(data):
        where = {"file": str(path), "record": str(index)}
        if not isinstance(item, dict):
            raise DataError("not an object", **where)
        if item.get("type") not in CSERP_TYPES:
            raise DataError(f"type must be one of {', '.join(CSERP_TYPES)}", **where, field="type")
        if item.get("language") not in ("cn", "en"):
            raise DataError("language must be cn or en", **where, field="language")
        if not isinstance(item.get("Q"), list) or not item["Q"]:
            raise DataError("no chat messages", **where, field="Q")
        if "A" not in item:
            raise DataError("no label", **where, field="A")
    return data


def _table(scores: dict[str, Any]) -> str:
    head = "| | " + " | ".join(
        kind.capitalize() + (" ↓" if kind in LOWER_IS_BETTER else "") for kind in CSERP_TYPES
    )
    lines = [head + " | Avg |", "|---" * (len(CSERP_TYPES) + 2) + "|"]
    for language, table in scores.items():
        cells = []
        for kind in CSERP_TYPES:
            metric = table["metrics"][kind]
            if metric["mean"] is None:
                cells.append("-")
            else:
                sem = "-" if metric["sem"] is None else f"{metric['sem']:.2f}"
                cells.append(f"{metric['mean']:.2f} ± {sem}")
        avg = "-" if table["avg"] is None else f"{table['avg']:.2f}"
        lines.append(f"| {language} | " + " | ".join(cells) + f" | {avg} |")
    return "\n".join(lines) + "\n"


async def cserp_eval(options: CserpEvalOptions, *, agent: Any = None) -> dict[str, Any]:
    """Ask the tested model the CSERP items; write results, scores and the table. ``agent`` (a
    Backend) stands in for ``--agent``. Returns the scores."""
    from mmrole.autorpeval.calls import Calls, Seats
    from mmrole.engine import Request, Store
    from mmrole.models.base import GenerationParams

    require(options, "data", "run", *(() if agent is not None else ("agent",)))
    items = load_cserp(options.data)[: options.limit]  # type: ignore[arg-type]
    run = Path(options.run)  # type: ignore[arg-type]
    run.mkdir(parents=True, exist_ok=True)
    seats = Seats()
    params = GenerationParams(max_tokens=options.max_tokens, temperature=options.temperature)
    answers: dict[int, Any] = {}
    replies: dict[int, str] = {}
    try:
        backend = agent if agent is not None else seats.get(options.agent, options.agent_args)  # type: ignore[arg-type]
        with Store(run / "store.sqlite") as store:
            calls = Calls(store, options.engine.run_kwargs())
            pending = list(range(len(items)))
            for attempt in range(options.retries + 1):
                if not pending:
                    break
                draw = replace(params, draw=params.draw + _DRAW_STRIDE * attempt) if attempt else params
                requests = [
                    Request(
                        f"cserp:{index}" + (f"::retry{attempt}" if attempt else ""), items[index]["Q"], draw
                    )
                    for index in pending
                ]
                results = await calls.run(
                    backend, requests, "cserp" + (f": re-ask {attempt}" if attempt else "")
                )
                still = []
                for index, result in zip(pending, results, strict=True):
                    item = items[index]
                    if result.completion is None:
                        still.append(index)
                        continue
                    replies[index] = result.completion.text
                    try:
                        answers[index] = parse_cserp(
                            item["type"], result.completion.text, item["A"], item["language"]
                        )
                    except ValueError:
                        still.append(index)
                pending = still
    finally:
        await seats.aclose()
    done = [
        {**item, "eval_result": answers.get(index) or "", "rsp": replies.get(index)}
        for index, item in enumerate(items)
    ]
    scores = cserp_scores(done)
    files.write_json(run / "cserp_results.json", done)
    files.write_json(run / "cserp_scores.json", scores)
    files.write_text(run / "cserp.md", _table(scores))
    return scores


def cserp_eval_sync(options: CserpEvalOptions, **kwargs: Any) -> dict[str, Any]:
    """:func:`cserp_eval` from synchronous code."""
    return asyncio.run(cserp_eval(options, **kwargs))
