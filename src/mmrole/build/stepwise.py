"""Stepwise generation (``generation = "stepwise"``): one plain-text call per profile section or
dialogue turn, for generators too weak to write a whole item as JSON (small local models).

The structure is the pipeline's, by construction: a profile has its five sections because five
calls asked for them, a dialogue's speakers alternate because the pipeline names the speaker of
every turn. What the model writes is only the text, and the same rules judge it (a section or turn
that is empty or in another language is asked again with a format reminder, then the item fails;
the filter stage's rules and judge see the result like any other). Every call goes through
:func:`mmrole.build.generate.run_tasks`, so the store makes a rerun repeat no finished call: a
turn's request holds the turns before it, which the store gives back the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mmrole.build.generate import BuildFolder, GeneratorOptions, Outcome, Task, run_tasks
from mmrole.build.replies import ReplyError, language_problem
from mmrole.build.stage import StageSummary
from mmrole.models.base import Backend, Message
from mmrole.prompts.build_dialogues import HUMAN
from mmrole.prompts.build_profiles import SECTIONS
from mmrole.prompts.build_steps import STEP_SYSTEM, section_request

__all__ = ["plain_reply", "run_parts", "run_turns", "section_steps", "step_messages"]

_HEADING = re.compile(r"^\s*(#+.*|\*\*[^*]+\*\*:?)\s*$")


def step_messages(text: str, language: str, image: dict[str, Any] | None = None) -> list[Message]:
    """A step's chat messages (the image part first, as the whole requests have it)."""
    content: Any = text if image is None else [image, {"type": "text", "text": text}]
    return [{"role": "system", "content": STEP_SYSTEM[language]}, {"role": "user", "content": content}]


def plain_reply(
    text: str, language: str, *, what: str = "section", echo: str = "", others: Sequence[str] = ()
) -> str:
    """The usable text of a step's reply: a leading ``echo:`` label (the speaker's name the prompt
    ends with) and heading lines dropped, cut where the model starts writing another speaker's line
    (``others:``).

    Raises:
        ReplyError: ``empty <what>`` (nothing with a letter or digit), or ``switches language``.
    """
    body = text.strip()
    labels = [label for label in (echo, *others) if label]
    for label in labels:  # "Otto Brass: Hello" -> "Hello" (the model repeats the prompt's last line)
        for colon in (":", "："):
            if body.casefold().startswith((label + colon).casefold()):
                body = body[len(label) + 1 :].strip()
    lines = []
    for line in body.splitlines():
        if any(line.strip().casefold().startswith((o + c).casefold()) for o in others for c in (":", "：")):
            break  # the model goes on with the next speaker's turn: not this turn's text
        if not _HEADING.match(line):
            lines.append(line)
    body = "\n".join(lines).strip()
    if not any(ch.isalnum() for ch in body):
        raise ReplyError(f"empty {what}", f"the reply has no text: {text.strip()[:80]!r}")
    problem = language_problem(body, language)
    if problem:
        raise ReplyError("switches language", f"the {what} is {problem}")
    return body


def section_steps(
    key: str, name: str, material: str, language: str, *, short: bool
) -> list[tuple[str, Task[str]]]:
    """The five section tasks of ``name``'s profile (``short``: the short profile's), keyed
    ``KEY#section``, written from ``material``; :func:`run_parts` assembles them."""

    def parse(reply: str) -> str:
        return plain_reply(reply, language)

    return [
        (
            section,
            Task(
                f"{key}#{section}",
                step_messages(section_request(name, number, material, language, short=short), language),
                parse,
                language,
                plain=True,
            ),
        )
        for number, section in enumerate(SECTIONS)
    ]


def _failed(key: str, step: Outcome[Any], attempts: int) -> Outcome[Any]:
    return Outcome(key, None, step.reason, f"{step.key}: {step.detail}", step.reply, attempts)


async def run_parts(
    backend: Backend,
    items: Mapping[str, Sequence[tuple[str, Task[str]]]],
    *,
    folder: BuildFolder,
    stage: str,
    options: GeneratorOptions,
    summary: StageSummary,
) -> dict[str, Outcome[dict[str, str]]]:
    """Items made of independent parts (a profile's sections): ``items`` maps an item's key to its
    (part name, task) pairs; all are sent at once. An item is ``{part: text}`` when every part
    succeeded, else failed with its first failed part's reason."""
    tasks = [task for parts in items.values() for _, task in parts]
    outcomes = await run_tasks(backend, tasks, folder=folder, stage=stage, options=options, summary=summary)
    done: dict[str, Outcome[dict[str, str]]] = {}
    for key, parts in items.items():
        steps = [(name, outcomes[task.key]) for name, task in parts]
        attempts = sum(step.attempts for _, step in steps)
        bad = next((step for _, step in steps if not step.ok), None)
        if bad is not None:
            done[key] = _failed(key, bad, attempts)
        else:
            done[key] = Outcome(key, {name: str(step.value) for name, step in steps}, attempts=attempts)
    return done


#: Builds the task of one turn: (item key, turn number, speaker, turns so far) -> the task.
TurnTask = Callable[[str, int, str, list[tuple[str, str]]], Task[str]]


async def run_turns(
    backend: Backend,
    plans: Mapping[str, tuple[list[tuple[str, str]], Sequence[str]]],
    make_task: TurnTask,
    *,
    folder: BuildFolder,
    stage: str,
    options: GeneratorOptions,
    summary: StageSummary,
) -> dict[str, Outcome[list[tuple[str, str]]]]:
    """Dialogues written one turn per call, in rounds (turn n of every dialogue, then n + 1).

    ``plans`` maps a dialogue's key to (its given turns, e.g. a comment's question; the speakers of
    the turns to write). A dialogue whose turn fails stops there and fails with that turn's reason.
    """
    history = {key: list(given) for key, (given, _) in plans.items()}
    attempts = dict.fromkeys(plans, 0)
    failed: dict[str, Outcome[Any]] = {}
    rounds = max((len(speakers) for _, speakers in plans.values()), default=0)
    for number in range(rounds):
        active = [key for key, (_, speakers) in plans.items() if key not in failed and number < len(speakers)]
        tasks = {key: make_task(key, number, plans[key][1][number], history[key]) for key in active}
        outcomes = await run_tasks(
            backend, list(tasks.values()), folder=folder, stage=stage, options=options, summary=summary
        )
        for key, task in tasks.items():
            step = outcomes[task.key]
            attempts[key] += step.attempts
            if step.ok:
                history[key].append((plans[key][1][number], str(step.value)))
            else:
                failed[key] = _failed(key, step, attempts[key])
    return {key: failed.get(key) or Outcome(key, history[key], attempts=attempts[key]) for key in plans}


def speaker_label(speaker: str, language: str) -> str:
    """How a turn's speaker is written in the history (``Human`` for MMRole's ``human``)."""
    if speaker == HUMAN:
        return "Human" if language == "English" else "人类"
    return speaker
