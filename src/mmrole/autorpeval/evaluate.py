"""AutoRPEval's question stage: the evaluator answers the eight questions about each dialogue.

For every chat with a complete dialogue and every question (:mod:`mmrole.autorpeval.questions`)
the evaluator gets BeyondDialogue's prompt; its reply is parsed as BeyondDialogue parses it. A
reply that does not parse is asked again, up to ``format_retries`` times, as a new request (the
prompt plus a format reminder, another draw: another cache key); then it is recorded as failed.
Each chat gets BeyondDialogue's fields: ``<question>_eval`` (the parsed answer, ``null`` when it
failed) and ``<question>_analysis_eval`` (the evaluator's last reply), plus ``eval_errors``
(question -> why it failed) where something failed. A chat without a complete dialogue gets
``null`` answers. Role Choice is not asked of a role without candidates (an MMRole character), nor
Character, Style or Personality of a role without those labels (an MMRole character whose profile
lacks BeyondDialogue's fields): those answers are recorded as failed, with the reason.

A chat anchored in an image is also asked ``grounding`` (mmrole's own question), and the evaluator
is shown the image (:func:`mmrole.autorpeval.questions.question_messages`); ``n_failed`` counts
Grounding only when some chat has an image, so a text run's summary is what it always was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mmrole.autorpeval.calls import Calls
from mmrole.autorpeval.dialogues import DIALOGUE_ERROR
from mmrole.autorpeval.questions import (
    ALL_QUESTIONS,
    GROUNDING,
    QUESTIONS,
    Unparsed,
    analysis_field,
    eval_field,
    parse_answer,
    question_messages,
    question_prompt,
)
from mmrole.autorpeval.roles import Role
from mmrole.autorpeval.scene_images import chat_image, image_parts
from mmrole.engine import Request
from mmrole.models.base import Backend, GenerationParams

__all__ = ["EVAL_ERRORS", "QuestionSummary", "run_questions"]

#: The chat field naming, per question, why its answer failed.
EVAL_ERRORS = "eval_errors"
_DRAW_STRIDE = 1000  # a re-ask's draw, far from any repeat index
#: Per question, the role label it needs: without it the question is not asked.
_NEEDS = {
    "character": ("traits", "character traits"),
    "style": ("style", "speaking style"),
    "personality": ("mbti", "MBTI personality"),
    "rolechoice": ("candidates", "role_candidates"),
}


@dataclass
class QuestionSummary:
    """What the question stage did.

    Attributes:
        n_asked: (chat, question) pairs asked.
        n_answered: Answers that parsed.
        n_failed: Per question, the answers recorded as failed (request failed, or no parse after
            the re-asks), chats without a complete dialogue included.
        not_asked: Per question, the answers of ``n_failed`` not asked: the role lacks the
            question's label (an MMRole character); they do not count against ``--max-failures``.
        n_retries: Re-asks with a format reminder.
        n_calls: Calls made (not served from the store).
    """

    n_asked: int = 0
    n_answered: int = 0
    n_failed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUESTIONS, 0))
    n_retries: int = 0
    n_calls: int = 0
    not_asked: dict[str, int] = field(default_factory=dict)

    @property
    def n_not_asked(self) -> int:
        return sum(self.not_asked.values())

    @property
    def total_failed(self) -> int:
        return sum(self.n_failed.values())


@dataclass
class _Task:
    role: Role
    chat: dict[str, Any]
    question: str
    image: list[dict[str, Any]] = field(default_factory=list)
    reply: str = ""
    answer: Any = None
    error: str | None = None

    def request_id(self, attempt: int) -> str:
        base = f"question:{self.role.language}/{self.role.name}/{self.chat['chat_role']}/{self.question}"
        return base + (f"::retry{attempt}" if attempt else "")


async def run_questions(
    roles: Sequence[Role],
    evaluator: Backend,
    calls: Calls,
    *,
    params: GenerationParams | None = None,
    format_retries: int = 2,
    max_image_side: int | None = None,
) -> tuple[list[Role], QuestionSummary]:
    """Ask the eight questions (nine for a chat with an image) about every chat of every role (chat
    images checked by the caller; ``max_image_side`` downscales them).

    Returns:
        The roles with each chat's ``*_eval`` and ``*_analysis_eval`` fields, and what was done.
    """
    params = params or GenerationParams(max_tokens=2048)
    summary = QuestionSummary()
    chats: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    tasks: list[_Task] = []
    for role in roles:
        for scene in role.scenes:
            chat = role.chat(scene.partner)
            chat.pop(EVAL_ERRORS, None)
            chats.setdefault((role.language, role.name), {})[scene.partner] = chat
            complete = bool(chat.get("dialogues")) and not chat.get(DIALOGUE_ERROR)
            path = chat_image(chat)
            image = image_parts(path, max_image_side) if path is not None and complete else []
            if path is not None:
                summary.n_failed.setdefault(GROUNDING, 0)
            for question in ALL_QUESTIONS if path is not None else QUESTIONS:
                task = _Task(role, chat, question, image)
                needs = _NEEDS.get(question)
                if not complete:
                    task.error = "no complete dialogue"
                elif needs is not None and not getattr(role, needs[0]):
                    task.error = f"the role has no {needs[1]}"
                    summary.not_asked[question] = summary.not_asked.get(question, 0) + 1
                else:
                    tasks.append(task)
                if task.error:
                    _record(task, summary)
    before = calls.made
    # Similar lengths side by side: a local backend batches neighbouring requests, padded to the longest.
    pending = sorted(tasks, key=lambda task: len(question_prompt(task.question, task.role, task.chat)))
    for attempt in range(format_retries + 1):
        if not pending:
            break
        requests = [
            Request(
                task.request_id(attempt),
                question_messages(task.question, task.role, task.chat, attempt=attempt, image=task.image),
                replace(params, draw=params.draw + _DRAW_STRIDE * attempt) if attempt else params,
            )
            for task in pending
        ]
        label = "questions" if attempt == 0 else f"questions: format reminder {attempt}"
        results = await calls.run(evaluator, requests, label)
        summary.n_retries += len(requests) if attempt else 0
        retry = []
        for task, result in zip(pending, results, strict=True):
            if result.completion is None:
                task.error = f"request failed: {result.error}"
                continue
            task.reply = result.completion.text
            try:
                task.answer, task.error = parse_answer(task.question, task.reply, task.role), None
            except Unparsed as why:
                task.error = f"unparsed: {why}"
                retry.append(task)
        pending = retry
    for task in tasks:
        _record(task, summary)
    summary.n_asked = len(tasks)
    summary.n_answered = sum(1 for task in tasks if task.error is None)
    summary.n_calls = calls.made - before
    done = [role.with_chats(chats.get((role.language, role.name), {})) for role in roles]
    return done, summary


def _record(task: _Task, summary: QuestionSummary) -> None:
    """Write the task's answer into its chat, BeyondDialogue's way (``null`` when it failed)."""
    chat = task.chat
    chat[eval_field(task.question)] = task.answer if task.error is None else None
    chat[analysis_field(task.question)] = task.reply
    if task.error is not None:
        chat.setdefault(EVAL_ERRORS, {})[task.question] = task.error
        summary.n_failed[task.question] = summary.n_failed.get(task.question, 0) + 1
