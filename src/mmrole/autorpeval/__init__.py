"""mmrole.autorpeval: BeyondDialogue's AutoRPEval, end to end, through the engine.

A simulator plays a chat partner in a scene, the tested model plays the role for five rounds, and
an evaluator answers eight questions about each dialogue; the answers become eight scores
(Character, Style, Emotion, Relationship, Personality, Human-likeness, Role Choice, Coherence)
with their SEMs, per language and pooled (Yu et al., 2024, *BeyondDialogue*):

    from mmrole.autorpeval import AutoRPEvalOptions, autorpeval_sync
    summary = autorpeval_sync(AutoRPEvalOptions(
        agent="openai:my-rpa@http://localhost:8000/v1", simulator="openai:gpt-4o",
        evaluator="openai:gpt-4o", roles="BeyondDialogue/autorpeval", run="runs/mine"))

The stages run alone too (:func:`scenarios_stage`, :func:`dialogues_stage`,
:func:`questions_stage`, :func:`score_run`); :func:`import_results` and :func:`export_run` exchange
per-role result files with BeyondDialogue's own scripts. See docs/autorpeval.md.
"""

from __future__ import annotations

import typing

from mmrole import _lazy

if typing.TYPE_CHECKING:
    from mmrole.autorpeval.exchange import export_run, import_results
    from mmrole.autorpeval.metrics import EvaluatedRole, LanguageScores, MetricScore, score_roles
    from mmrole.autorpeval.options import (
        AutoRPEvalOptions,
        DialogueOptions,
        QuestionOptions,
        ScenarioOptions,
        ScoreOptions,
    )
    from mmrole.autorpeval.pipeline import (
        AutoRPEvalSummary,
        autorpeval,
        autorpeval_sync,
        dialogues_stage,
        questions_stage,
        scenarios_stage,
        score_run,
    )
    from mmrole.autorpeval.questions import QUESTIONS
    from mmrole.autorpeval.report import write_reports
    from mmrole.autorpeval.roles import Role, load_role, load_roles, role_from_character
    from mmrole.autorpeval.run_folder import is_autorpeval_run
    from mmrole.autorpeval.ttest import TTest, ttest_ind

__all__ = [
    "QUESTIONS",
    "AutoRPEvalOptions",
    "AutoRPEvalSummary",
    "DialogueOptions",
    "EvaluatedRole",
    "LanguageScores",
    "MetricScore",
    "QuestionOptions",
    "Role",
    "ScenarioOptions",
    "ScoreOptions",
    "TTest",
    "autorpeval",
    "autorpeval_sync",
    "dialogues_stage",
    "export_run",
    "import_results",
    "is_autorpeval_run",
    "load_role",
    "load_roles",
    "questions_stage",
    "role_from_character",
    "scenarios_stage",
    "score_roles",
    "score_run",
    "ttest_ind",
    "write_reports",
]

# The names load on first use: the CLI imports the options dataclasses alone (no numpy).
_lazy.lazy_names(
    __name__,
    {
        "exchange": (
            "export_run",
            "import_results",
        ),
        "metrics": (
            "EvaluatedRole",
            "LanguageScores",
            "MetricScore",
            "score_roles",
        ),
        "options": (
            "AutoRPEvalOptions",
            "DialogueOptions",
            "QuestionOptions",
            "ScenarioOptions",
            "ScoreOptions",
        ),
        "pipeline": (
            "AutoRPEvalSummary",
            "autorpeval",
            "autorpeval_sync",
            "dialogues_stage",
            "questions_stage",
            "scenarios_stage",
            "score_run",
        ),
        "questions": ("QUESTIONS",),
        "report": ("write_reports",),
        "roles": (
            "Role",
            "load_role",
            "load_roles",
            "role_from_character",
        ),
        "run_folder": ("is_autorpeval_run",),
        "ttest": (
            "TTest",
            "ttest_ind",
        ),
    },
)
