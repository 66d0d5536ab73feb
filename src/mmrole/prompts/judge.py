"""MMRole-Eval judge texts: the system and user texts of one (sample, metric) judgement.

The texts are those of MMRole's reward-model scoring (MMRole, Dai et al., ICLR 2025,
https://github.com/YanqiDai/MMRole, MIT licence): the released MMRole-Eval reward model
was trained on, and is queried with, exactly these strings, so they are reproduced
byte for byte. The judge compares Model A (the evaluated MRPA's answer) with Model B
(the reference answer) and replies ``{qualitative evaluation}, [Scores]: (a, b)``.

Pure text: no I/O, no heavy imports.
"""

from __future__ import annotations

from mmrole.schema import CURIOUS_HUMAN, HYPOTHETICAL_SERIES, METRICS

#: The judge's system text (MMRole).
JUDGE_SYSTEM = (
    "You are an objective and precise evaluator, specializing in rigorously assessing the role-playing "
    "and multimodal understanding abilities of various models."
)

# The eight aspect texts (MMRole), in METRICS order. ``{role}`` is the evaluated character,
# ``{the_other}`` the party it talks to.
_ASPECTS: dict[str, str] = {
    "Instruction Adherence": (
        "Instruction Adherence: Do the responses accurately adhere to the task instruction, directly "
        "role-playing as {role} and only including words that {role} should say, without any additional "
        "explanatory prefixes or suffixes?"
    ),
    "Fluency": "Fluency: Are the responses grammatically correct and smoothly articulated?",
    "Coherency": (
        "Coherency: Do the responses maintain a coherent thread of dialogue without contradicting earlier "
        "parts of the conversation or previously established facts?"
    ),
    "Image-Text Relevance": (
        "Image-Text Relevance: Are the responses closely related to the visual content of the image?"
    ),
    "Response Accuracy": (
        "Response Accuracy: Do the responses accurately answer {the_other}'s words or appropriately "
        "initiate a conversation based on the image?"
    ),
    "Personality Consistency": (
        "Personality Consistency: Do the responses accurately and sufficiently reflect the personality of {role}?"
    ),
    "Knowledge Consistency": (
        "Knowledge Consistency: Are the responses consistent with the factual knowledge that {role} should "
        "possess, including experiences, abilities, and relationships?"
    ),
    "Tone Consistency": (
        "Tone Consistency: Do the responses maintain a consistent tone that aligns with {role}'s typical "
        "manner of speaking and catchphrases, rather than resembling the style of AI assistants?"
    ),
}
assert tuple(_ASPECTS) == METRICS

_USER_TEMPLATE = (
    "## **[Question Start]**\n\n{question}\n\n## **[Question End]**\n\n\n"
    "## **[Model A's Response Start]**\n\n{answer_a}\n\n## **[Model A's Response End]**\n\n\n"
    "## **[Model B's Response Start]**\n\n{answer_b}\n\n## **[Model B's Response End]**\n\n\n"
    "## **[Instruction]**\n\n{task}\n\n"
    "Please evaluate the following aspect of each model's response:\n{aspect}\n\n"
    "Please provide a brief qualitative evaluation for the relative performance of the two models, "
    "followed by paired quantitative scores from 1 to 10, where 1 indicates poor performance and 10 "
    "indicates excellent performance.\n\n"
    "The output should be in the following format:\n"
    "{{Qualitative Evaluation}}, [Scores]: ({{the score of Model A}}, {{the score of Model B}})\n\n"
    "Please ensure that your evaluations are unbiased and that the order in which the responses were "
    "presented does not affect your judgment."
)

#: Appended (after a blank line) to the user text when a judge reply had no parseable score pair.
#: Not part of MMRole: it only appears in retries, which MMRole's reward model rarely needs.
FORMAT_REMINDER = (
    "Reminder: end your reply with the paired scores exactly in this format: "
    "[Scores]: (score of Model A, score of Model B), for example [Scores]: (7, 8)."
)


def role_with_script(role: str, script: str) -> str:
    """``Iron Man from The Avengers``, or MMRole's wording for a hypothetical character."""
    if script == HYPOTHETICAL_SERIES:
        return f"{role}, a person who is one of the Hypothetical Characters,"
    return f"{role} from {script}"


def task_text(role: str, script: str, other_role: str) -> str:
    """The task sentence of the instruction block (MMRole's ``TASK``)."""
    other = other_role if other_role == CURIOUS_HUMAN else role_with_script(other_role, script)
    return (
        f"The task instruction of the two models is to directly role-play as {role_with_script(role, script)} "
        f"and talk with {other} about the given image using the distinctive tone, manner and vocabulary of {role}."
    )


def aspect_text(metric: str, role: str, other_role: str) -> str:
    """The metric sentence (MMRole's ``ASPECT``) for one of :data:`mmrole.schema.METRICS`.

    Raises:
        KeyError: ``metric`` is not one of the eight metric names.
    """
    the_other = "the curious human" if other_role == CURIOUS_HUMAN else other_role
    return _ASPECTS[metric].format(role=role, the_other=the_other)


def judge_user_text(
    *,
    question: str,
    answer_a: str,
    answer_b: str,
    role: str,
    script: str,
    other_role: str,
    metric: str,
) -> str:
    """The user text of one judgement, byte-identical to MMRole's reward-model scoring.

    Args:
        question: The MRPA instruction the answers reply to (``conversations[0].value``).
        answer_a: Model A's response (MMRole: the evaluated MRPA).
        answer_b: Model B's response (MMRole: the reference answer).
        role: The character being played.
        script: Its series (``Hypothetical Characters`` for invented ones).
        other_role: ``a curious human`` or the other character of an inter-role dialogue.
        metric: One of :data:`mmrole.schema.METRICS`.
    """
    return _USER_TEMPLATE.format(
        question=question,
        answer_a=answer_a,
        answer_b=answer_b,
        task=task_text(role, script, other_role),
        aspect=aspect_text(metric, role, other_role),
    )


def with_format_reminder(user_text: str) -> str:
    """The user text of a retry after an unparseable reply."""
    return f"{user_text}\n\n{FORMAT_REMINDER}"
