"""``mmrole build run CONFIG.toml``: every build stage in order, from one configuration.

profiles -> annotate -> dialogues (once per type) -> filter -> split, each the same function its
own command runs (so every stage can also run alone), each through the engine and the root's
store: a run killed at any point (``kill -9`` included) and started again makes only the calls it
had not finished, and stages that had finished skip what they built. The root is held for the
whole run (a second build of it is refused). A generating stage that failed more items than its
``max_failures`` allows stops the run (exit 1, the reasons in ``.build/failures/<stage>.jsonl``).
The end is a summary: characters, images, dialogues per type written, kept and rejected with the
top rejection reasons, training samples and test sizes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.build.config import BuildConfig, stage_function
from mmrole.build.generate import BuildFolder, GeneratorOptions, check_failures
from mmrole.build.stage import StageSummary
from mmrole.engine.options import EngineOptions

#: Called with each stage's summary as it finishes (the CLI prints a line).
StageHook = Callable[[StageSummary], None]


@dataclass
class BuildSummary:
    """What ``build run`` did, and what the root holds at the end.

    Attributes:
        root: The data root.
        stages: Each stage's summary, in the order they ran (``dialogues-<type>`` one per type).
        characters: Characters per split.
        images: Distinct images the dialogues use; ``annotated``: stills in ``annotations.json``.
        dialogues: Dialogues per type in the dataset at the end.
    """

    root: Path
    stages: list[StageSummary] = field(default_factory=list)
    characters: Counter[str] = field(default_factory=Counter)
    images: int = 0
    annotated: int = 0
    dialogues: Counter[str] = field(default_factory=Counter)

    def stage(self, name: str) -> StageSummary | None:
        return next((s for s in self.stages if s.stage == name), None)


def _with_models(options: Any, models: dict[str, Any]) -> Any:
    """``options`` with the given backends in place of the specs of the same name."""
    names = {f.name for f in dataclasses.fields(options)}
    given = {name: backend for name, backend in models.items() if backend is not None and name in names}
    progress = models.get("progress")
    if progress is not None and isinstance(getattr(options, "engine", None), EngineOptions):
        given["engine"] = dataclasses.replace(options.engine, progress=progress)
    return dataclasses.replace(options, **given) if given else options


def _check_failures(options: Any, summary: StageSummary) -> None:
    """Stop the run when a generating stage failed more items than its ``max_failures`` allows."""
    if isinstance(options, GeneratorOptions):  # the filter's rejections are its purpose, not failures
        check_failures(options, summary, BuildFolder(options.root).failures_path(summary.stage))


def run_build(
    config: BuildConfig,
    *,
    generator: Any = None,
    judge: Any = None,
    progress: bool | None = None,
    on_stage: StageHook | None = None,
) -> BuildSummary:
    """Run the configured stages in order.

    Args:
        config: The checked configuration (:func:`mmrole.build.config.read_config`).
        generator: A Backend to use instead of every stage's ``generator`` spec (tests).
        judge: A Backend to use instead of the filter's ``judge`` spec.
        progress: Show (or hide) every stage's progress bar, whatever the configuration says.
        on_stage: Called with each stage's summary when it finishes.

    Raises:
        TooManyFailures: A generating stage failed more items than allowed (exit status 1).
        MMRoleError: A stage's bad input or options, a dead endpoint (finished calls are kept).
    """
    root = config.root
    models = {"generator": generator, "judge": judge}
    if progress is not None:
        models["progress"] = progress
    summary = BuildSummary(root)
    with BuildFolder(root).lock():
        for stage in config.stages:
            options_list = config.options[stage]
            for options in options_list if isinstance(options_list, list) else [options_list]:
                options = _with_models(options, models)
                result = stage_function(stage)(options)
                summary.stages.append(result)
                if on_stage is not None:
                    on_stage(result)
                _check_failures(options, result)
    _describe_root(summary)
    return summary


def _describe_root(summary: BuildSummary) -> None:
    """What the root holds at the end: characters, dialogues and the images they use."""
    from mmrole.data.characters import load_characters
    from mmrole.data.dialogues import load_annotations, load_dialogues

    characters = load_characters(summary.root, report=lambda problem: None)
    summary.characters = Counter(character.split for character in characters.values())
    images = set()
    for dialogue in load_dialogues(summary.root, characters=characters, report=lambda problem: None):
        summary.dialogues[dialogue.type] += 1
        images.add(dialogue.image.path)
    summary.images = len(images)
    summary.annotated = len(load_annotations(summary.root, report=lambda problem: None))


def _reasons(stage: StageSummary | None) -> str:
    if stage is None or not stage.reasons:
        return ""
    return ", ".join(f"{reason} ({count})" for reason, count in stage.top_reasons())


def summary_tables(summary: BuildSummary) -> list[Any]:
    """The end-of-run summary as rich Tables: the stages, then the dataset per dialogue type."""
    from rich.table import Table

    from mmrole.schema import DIALOGUE_TYPES

    stages = Table(title=f"mmrole build: {summary.root}")
    for name in ("stage", "built", "failed", "already built", "calls", "top reasons"):
        stages.add_column(name, justify="left" if name in ("stage", "top reasons") else "right")
    for stage in summary.stages:
        stages.add_row(
            stage.stage,
            str(stage.kept),
            str(stage.failed),
            str(stage.skipped),
            str(stage.calls),
            _reasons(stage),
        )
    kinds = {"in-distribution": "seen", "out-of-distribution": "held out"}
    characters = ", ".join(f"{count} {kinds.get(s, s)}" for s, count in sorted(summary.characters.items()))
    dataset = Table(
        title=(
            f"{sum(summary.characters.values())} characters ({characters}); {summary.images} images in "
            f"dialogues; {summary.annotated} stills annotated"
        )
    )
    columns = ("type", "written", "generation failures", "kept", "rejected", "top rejection reasons")
    for name in (*columns, "train samples", "In-Test", "Out-Test"):
        dataset.add_column(name, justify="left" if name in ("type", "top rejection reasons") else "right")
    filtered = summary.stage("filter")
    split = summary.stage("split")
    for dialogue_type in DIALOGUE_TYPES:
        generated = summary.stage(f"dialogues-{dialogue_type}")
        by_type = getattr(filtered, "by_type", {}).get(dialogue_type)
        tests = getattr(split, "tests", {})
        dataset.add_row(
            dialogue_type,
            str(generated.kept) if generated else "-",
            str(generated.failed) if generated else "-",
            str(by_type.kept if by_type else summary.dialogues[dialogue_type]),
            str(by_type.failed) if by_type else "-",
            _reasons(by_type),
            str(getattr(split, "train", {}).get(dialogue_type, 0)) if split else "-",
            str(tests.get("in-distribution", {}).get(dialogue_type, 0)) if split else "-",
            str(tests.get("out-of-distribution", {}).get(dialogue_type, 0)) if split else "-",
        )
    return [stages, dataset]
