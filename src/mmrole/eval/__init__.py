"""MMRole-Eval: judging, score parsing, aggregation with bootstrap CIs, import of MMRole's releases,
paired comparison and leaderboards.

    from mmrole.eval import JudgeOptions, judge_run_sync
    summary = judge_run_sync("runs/mine", "openai:gpt-4o", JudgeOptions(swap=True))
    summary.results["overall"]   # {"mean": ..., "ci": [low, high]}

Reports (Markdown/CSV/HTML) live in :mod:`mmrole.eval.report`.
"""

from __future__ import annotations

import typing

from mmrole import _lazy

if typing.TYPE_CHECKING:
    from mmrole.eval.aggregate import Judgement, ScoreTable, aggregate, build_table, combine
    from mmrole.eval.compare import Comparison, compare_runs
    from mmrole.eval.importer import PUBLISHED_NAMES, import_published, import_released
    from mmrole.eval.judge import JudgeSummary, judge_run, judge_run_sync
    from mmrole.eval.judge_plan import JudgeOptions
    from mmrole.eval.leaderboard import leaderboard, write_leaderboard
    from mmrole.eval.parse import ScorePair, locate_scores, parse_scores
    from mmrole.eval.pipeline import evaluate, evaluate_sync
    from mmrole.eval.results import current_results, load_table, results_of

__all__ = [
    "PUBLISHED_NAMES",
    "Comparison",
    "JudgeOptions",
    "JudgeSummary",
    "Judgement",
    "ScorePair",
    "ScoreTable",
    "aggregate",
    "build_table",
    "combine",
    "compare_runs",
    "current_results",
    "evaluate",
    "evaluate_sync",
    "import_published",
    "import_released",
    "judge_run",
    "judge_run_sync",
    "leaderboard",
    "load_table",
    "locate_scores",
    "parse_scores",
    "results_of",
    "write_leaderboard",
]

# The names load on first use: importing a light submodule (an options dataclass) stays light.
_lazy.lazy_names(
    __name__,
    {
        "aggregate": (
            "Judgement",
            "ScoreTable",
            "aggregate",
            "build_table",
            "combine",
        ),
        "compare": (
            "Comparison",
            "compare_runs",
        ),
        "importer": (
            "PUBLISHED_NAMES",
            "import_published",
            "import_released",
        ),
        "judge": (
            "JudgeSummary",
            "judge_run",
            "judge_run_sync",
        ),
        "judge_plan": ("JudgeOptions",),
        "leaderboard": (
            "leaderboard",
            "write_leaderboard",
        ),
        "parse": (
            "ScorePair",
            "locate_scores",
            "parse_scores",
        ),
        "pipeline": (
            "evaluate",
            "evaluate_sync",
        ),
        "results": (
            "current_results",
            "load_table",
            "results_of",
        ),
    },
)
