"""Claim-level scoring of responses (RLAIF-V's divide-and-conquer feedback).

A text model splits a response into atomic claims about the image and rewrites each as a
yes/no question whose answer is "yes" when the claim holds; a vision-language model answers
each question looking at the image; the response's score is minus the number of claims it
rejects. Simple questions are far easier to answer reliably than "rate this response", which
is what makes the feedback trustworthy even from an open model of the policy's own size.

The prompt texts and readers below are pure; :func:`score_by_claims` sends the calls through
the engine (cached in the feedback folder's store, retried, resumable).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mmrole.engine import Request, run_requests
from mmrole.engine.options import EngineOptions
from mmrole.models.base import Backend, GenerationParams, Message

CLAIMS_SYSTEM = "You are a careful annotator who checks descriptions of images for factual errors."

_SPLIT_TEMPLATE = (
    "Below is a response written by a role-playing character about an image.\n"
    "List the atomic claims the response makes about what is visible in the image (objects, people, "
    "animals, colours, counts, positions, actions, written text, places). Ignore opinions, feelings, "
    "greetings and role-play flourishes.\n"
    'Rewrite each claim as a yes/no question about the image whose answer is "yes" exactly when the '
    'claim is true. Write one question per line, each starting with "Q: ". If the response makes no '
    "such claim, write NONE.\n\n"
    "Response:\n{response}"
)

_CHECK_TEMPLATE = "{question}\nLook at the image and answer with a single word: yes or no."

_QUESTION_LINE = re.compile(r"^\s*(?:Q\s*\d*\s*[:：.)]|\d+\s*[.)]|[-*•])\s*(.+?)\s*$", re.IGNORECASE)
_YES = ("yes", "true", "correct", "是", "对", "有")
_NO = ("no", "false", "incorrect", "否", "不", "没", "没有", "不是")
_FIRST_WORD = re.compile(r"[A-Za-z]+|[\u4e00-\u9fff]")


def split_prompt(response: str) -> str:
    """The user text asking the text model for the response's claims as yes/no questions."""
    return _SPLIT_TEMPLATE.format(response=response)


def check_prompt(question: str) -> str:
    """The user text asking the vision-language model one question about the image."""
    return _CHECK_TEMPLATE.format(question=question)


def parse_questions(text: str, max_questions: int | None = None) -> list[str]:
    """The questions of a splitter reply, in order, duplicates removed.

    Reads ``Q: ...`` lines, and numbered or bulleted lines ending with a question mark;
    ``NONE`` (or nothing usable) gives an empty list.

    >>> parse_questions("Q: Is there a boat?\\nQ: Is the sky green?\\nQ: Is there a boat?")
    ['Is there a boat?', 'Is the sky green?']
    """
    questions: list[str] = []
    for line in text.splitlines():
        match = _QUESTION_LINE.match(line)
        if match is None:
            continue
        question = match.group(1).strip()
        marked = line.strip()[:1].upper() == "Q"
        if not question or (not marked and not question.endswith(("?", "？"))):
            continue
        if question not in questions:
            questions.append(question)
        if max_questions is not None and len(questions) >= max_questions:
            break
    return questions


def parse_verdict(text: str) -> bool | None:
    """True for a yes, False for a no, None when the reply is neither.

    >>> parse_verdict("Yes, there is."), parse_verdict(" no."), parse_verdict("Maybe")
    (True, False, None)
    """
    for match in _FIRST_WORD.finditer(text.strip()):
        word = match.group(0).lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        return None
    return None


@dataclass
class ClaimCheck:
    """One claim (as its question) and the checker's verdict (None: no answer or unreadable)."""

    question: str
    verdict: bool | None = None
    reply: str = ""


@dataclass
class ClaimScore:
    """The claim-level score of one response.

    Attributes:
        checks: Every claim checked.
        error: Why the response could not be scored (the split or a check failed).
    """

    checks: list[ClaimCheck] = field(default_factory=list)
    error: str | None = None

    @property
    def rejected(self) -> int:
        return sum(1 for c in self.checks if c.verdict is False)

    @property
    def score(self) -> float | None:
        """Minus the number of rejected claims; None when scoring failed."""
        return None if self.error else -float(self.rejected)

    def details(self) -> dict[str, Any]:
        return {
            "claims": len(self.checks),
            "rejected": self.rejected,
            "unclear": sum(1 for c in self.checks if c.verdict is None),
            "checks": [{"question": c.question, "verdict": c.verdict} for c in self.checks],
            **({"error": self.error} if self.error else {}),
        }


def _messages(user: str, image_parts: Sequence[dict[str, Any]] = ()) -> list[Message]:
    content: list[dict[str, Any]] = [*image_parts, {"type": "text", "text": user}]
    return [{"role": "system", "content": CLAIMS_SYSTEM}, {"role": "user", "content": content}]


async def score_by_claims(
    responses: dict[str, tuple[str, list[dict[str, Any]]]],
    splitter: Backend,
    checker: Backend,
    store: Any,
    *,
    max_claims: int = 20,
    max_tokens: int = 512,
    engine: EngineOptions | None = None,
) -> dict[str, ClaimScore]:
    """Score responses by their rejected claims.

    Args:
        responses: ``{response id: (text, image parts)}``; the image parts are OpenAI
            ``image_url`` parts shown to the checker.
        splitter: The text model that lists the claims as questions.
        checker: The vision-language model that answers them.
        store: The engine Store the calls are cached in.
        max_claims: Questions read per response at most.
        max_tokens: Reply length cap of the splitter.
        engine: Concurrency, retries, rate limit, timeout and progress of the calls.
    """

    engine = engine or EngineOptions()
    ids = list(responses)
    split_params = GenerationParams(max_tokens=max_tokens, temperature=0.0)
    split_results = await run_requests(
        splitter,
        [Request(f"claims:{rid}", _messages(split_prompt(responses[rid][0])), split_params) for rid in ids],
        store,
        description="splitting claims",
        **engine.run_kwargs(),
    )
    scores: dict[str, ClaimScore] = {}
    checks: list[tuple[str, ClaimCheck]] = []
    for rid, result in zip(ids, split_results, strict=True):
        scores[rid] = ClaimScore()
        if result.completion is None:
            scores[rid].error = f"claim split failed: {result.error}"
            continue
        for question in parse_questions(result.completion.text, max_claims):
            check = ClaimCheck(question)
            scores[rid].checks.append(check)
            checks.append((rid, check))
    check_params = GenerationParams(max_tokens=8, temperature=0.0)
    check_results = await run_requests(
        checker,
        [
            Request(f"check:{rid}:{n}", _messages(check_prompt(c.question), responses[rid][1]), check_params)
            for n, (rid, c) in enumerate(checks)
        ],
        store,
        description="checking claims",
        **engine.run_kwargs(),
    )
    for (rid, check), result in zip(checks, check_results, strict=True):
        if result.completion is None:
            scores[rid].error = f"claim check failed: {result.error}"
            continue
        check.reply = result.completion.text
        check.verdict = parse_verdict(result.completion.text)
    return scores
