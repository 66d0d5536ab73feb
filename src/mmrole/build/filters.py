"""``mmrole build filter``: what of the generated dialogues may join the dataset, and why not the rest.

Every dialogue file of a root (``dialogues/<split>/<type>/<Name>_<kind>.json``, or a split's
``<type>.json``) goes through

1. the rule checks of :mod:`mmrole.build.filter_rules` (structure, speakers, turn count, language,
   length, refusals and assistant tone), then near-duplicates within each character;
2. an LLM-judge review of what passed (:mod:`mmrole.build.filter_judge`): in character, grounded in
   the image, consistent with the profile, each 1-10, the lowest being the score; below
   ``min_judge_score`` is a rejection; a failed or unreadable review is re-asked once and then
   counted (``on_judge_error`` says whether such a dialogue is kept);
3. with ``refine``, a rewrite of the failing turns by the generator for each dialogue whose failures
   lie in single turns (language, length, tone, a low score), checked and reviewed again.

Every decision goes to the sidecar ``<root>/.build/filter.jsonl`` (id, file, kept, the rule failures,
the review's score and reason, the turns rewritten and their old text), written before the dataset
files, so every rejection can be audited; then each changed dialogue file is rewritten atomically
without its rejected dialogues. Model calls go through the engine and the root's store
(``.build/store.sqlite``): a rerun repeats no finished call.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from mmrole.build.filter_items import (
    Item,
    check_item,
    check_rules,
    load_built_characters,
    mark_duplicates,
    read_items,
    summarize,
    write_results,
)
from mmrole.build.filter_judge import (
    DEMO_JUDGE_MAX_TOKENS,
    DEMO_JUDGE_PREFILL,
    UnreadableReply,
    judge_request,
    parse_judgement,
    parse_rewrite,
    refine_request,
)
from mmrole.build.filter_options import FilterOptions, FilterSummary
from mmrole.build.filter_rules import (
    RuleFailure,
    read_turns,
)
from mmrole.build.generate import BuildFolder
from mmrole.data.dialogues import load_annotations
from mmrole.data.paths import UnsafePathError, resolve_under
from mmrole.engine.runner import Request, Result, run_requests
from mmrole.engine.store import Store
from mmrole.errors import DataError
from mmrole.models.base import GenerationParams
from mmrole.prompts.curation import DialogueView
from mmrole.schema import HUMAN_SPEAKER, Character, ImageAnnotation


class _Filter:
    """One filter run over a root: the items, the models and the engine options."""

    def __init__(self, options: FilterOptions, store: Store):
        from mmrole.eval.presets import is_demo

        self.options, self.store = options, store
        self.root = Path(options.root)
        self.images = Path(options.images) if options.images else self.root / "images"
        demo = is_demo(options.judge)
        self.judge_retries = (
            options.judge_format_retries if options.judge_format_retries is not None else (0 if demo else 1)
        )
        self.judge_prefill = (
            options.judge_prefill
            if options.judge_prefill is not None
            else (DEMO_JUDGE_PREFILL if demo else None)
        )
        max_tokens = options.judge_max_tokens or (DEMO_JUDGE_MAX_TOKENS if demo else 256)
        self.judge_params = GenerationParams(max_tokens=max_tokens)
        self.refine_params = GenerationParams(max_tokens=options.refine_max_tokens)
        self.characters: dict[str, Character] = {}
        self.annotations: dict[str, ImageAnnotation] = {}
        self.calls = 0

    async def run(self, backends: dict[str, Any]) -> list[Item]:
        self.characters = load_built_characters(self.root)
        self.annotations = load_annotations(self.root)
        items = read_items(self.root, self.characters)
        check_rules(items, self.characters, self.options.limits())
        mark_duplicates(items, self.options.duplicate_jaccard)
        self.attach_images(items)
        if "judge" in backends:
            await self.review(backends["judge"], [i for i in items if i.kept], "filter: review")
        for round_number in range(1, self.options.refine_rounds + 1 if self.options.refine else 1):
            candidates = [item for item in items if item.refinable()]
            if not candidates:
                break
            changed = await self.rewrite(backends["generator"], candidates, round_number)
            for item in changed:
                item.failures = check_item(item, self.characters, self.options.limits())
            if "judge" in backends:
                await self.review(
                    backends["judge"], [i for i in changed if i.kept], f"filter: review {round_number}"
                )
        return items

    def attach_images(self, items: list[Item]) -> None:
        """The image of each dialogue that may still be kept, checked before any call: a missing image
        stops the stage unless ``missing_image`` is omit, an unreadable one stops it, a link leading
        out of the image folder is a rejection. The part names the local file (backends read it when
        they send it; the cache key hashes its bytes), or with ``max_image_side`` holds the
        downscaled image's data URL."""
        from mmrole.data.convert import MISSING_IMAGE_HINT
        from mmrole.images import check_image_file, file_data_url

        for item in items:
            if not item.kept and not item.refinable():
                continue
            try:
                path = resolve_under(self.images, item.raw["image"], record=item.key, field="image")
            except UnsafePathError as err:
                item.failures.append(RuleFailure("structure", err.reason))
                continue
            if not path.is_file():
                if self.options.missing_image == "omit":
                    continue
                raise DataError(
                    f"image file not found: {path}{MISSING_IMAGE_HINT}",
                    file=str(item.file),
                    record=item.key,
                    field="image",
                )
            if not (self.options.judge or self.options.refine):
                continue
            if self.options.max_image_side is not None:
                item.image_url = file_data_url(path, self.options.max_image_side, record=item.key)
                continue
            check_image_file(path, record=item.key, field="image")  # decoded once per file
            item.image_url = str(path.resolve())

    def view(self, item: Item) -> DialogueView:
        assert item.role is not None
        turns = [(turn.speaker, turn.text) for turn in read_turns(item.raw)[0] or []]
        partner = next(
            (self.characters.get(s) for s, _ in turns if s not in (HUMAN_SPEAKER, item.role.name)), None
        )
        raw = item.raw
        fields = ("role_info", "place_info", "scene_info")
        if any(name in raw for name in fields):
            annotation = tuple(str(raw.get(name) or "") for name in fields)
        else:  # a character still annotated in images/annotations.json
            known = self.annotations.get(str(raw.get("image")))
            annotation = (known.role_info, known.place_info, known.scene_info) if known else ("", "", "")
        return DialogueView(
            dialogue_type=item.dialogue_type,
            role=item.role.name,
            profile=item.role.summary,
            turns=turns,
            partner=partner.name if partner else None,
            partner_profile=partner.summary if partner else "",
            annotation=annotation if any(annotation) else None,  # type: ignore[arg-type]
            chinese=item.role.language == "Chinese",
        )

    async def calls_for(self, backend: Any, requests: list[Request], description: str) -> list[Result]:
        results = await run_requests(
            backend,
            requests,
            self.store,
            concurrency=self.options.concurrency,
            max_retries=self.options.max_retries,
            rpm=self.options.rpm,
            progress=self.options.progress,
            description=description,
        )
        self.calls += sum(1 for result in results if not result.cached)
        return results

    async def review(self, backend: Any, items: list[Item], description: str) -> None:
        """Review ``items``; re-ask unreadable replies up to ``judge_retries`` times; record the outcome."""
        pending = items
        for attempt in range(self.judge_retries + 1):
            if not pending:
                break
            views = [self.view(item) for item in pending]
            requests = [
                judge_request(
                    f"review:{item.key}#{attempt}",
                    view,
                    item.image_url,
                    self.judge_params,
                    attempt=attempt,
                    prefill=self.judge_prefill,
                )
                for item, view in zip(pending, views, strict=True)
            ]
            results = await self.calls_for(backend, requests, description)
            again = []
            for item, view, result in zip(pending, views, results, strict=True):
                item.judgement, item.judge_error = None, None
                if result.completion is None:
                    item.judge_error = f"review call failed: {result.error}"
                    continue  # the engine already retried the call itself
                try:
                    item.judgement = parse_judgement(
                        (self.judge_prefill or "") + result.completion.text, len(view.turns)
                    )
                except UnreadableReply as err:
                    item.judge_error = f"unreadable review: {err}"
                    again.append(item)
            pending = again
        for item in items:
            self.settle_review(item)

    def settle_review(self, item: Item) -> None:
        if item.judgement is not None and item.judgement.score < self.options.min_judge_score:
            detail = f"{item.judgement.score:g} < {self.options.min_judge_score:g}: {item.judgement.reason}".rstrip(
                ": "
            )
            item.failures.append(RuleFailure("judge score", detail))
        elif item.judge_error is not None and self.options.on_judge_error != "keep":
            item.failures.append(RuleFailure("judge error", item.judge_error))

    async def rewrite(self, backend: Any, items: list[Item], round_number: int) -> list[Item]:
        """Ask for new text of each item's failing turns; apply it; return the items that changed."""
        plans = [(item, self.problems(item)) for item in items]
        requests = [
            refine_request(
                f"refine:{item.key}#{round_number}",
                self.view(item),
                problems,
                item.image_url,
                self.refine_params,
            )
            for item, problems in plans
        ]
        results = await self.calls_for(backend, requests, f"filter: refine {round_number}")
        changed = []
        for (item, problems), result in zip(plans, results, strict=True):
            try:
                if result.completion is None:
                    raise UnreadableReply(f"rewrite call failed: {result.error}")
                new_texts = parse_rewrite(result.completion.text, {index for index, _ in problems})
            except UnreadableReply as err:
                item.refine_error = str(err)
                item.failures.append(RuleFailure("refine failed", str(err)))
                continue
            item.raw = copy.deepcopy(item.raw)
            for index, text in new_texts.items():
                item.rewritten.setdefault(index, item.raw["conversations"][index]["value"])
                item.raw["conversations"][index]["value"] = text
            item.refined = round_number
            item.judgement, item.judge_error = None, None
            changed.append(item)
        return changed

    def problems(self, item: Item) -> list[tuple[int, str]]:
        """(turn, why) of the turns to rewrite: those a rule faulted, and for a low review the turns it
        names (else every character turn)."""
        why: dict[int, list[str]] = {}
        turns = read_turns(item.raw)[0] or []
        for failure in item.failures:
            if failure.turn is not None:
                why.setdefault(failure.turn, []).append(f"{failure.rule}: {failure.detail}")
            elif failure.rule == "judge score" and item.judgement is not None:
                named = item.judgement.bad_turns or tuple(
                    i for i, t in enumerate(turns) if t.speaker != HUMAN_SPEAKER
                )
                for index in named:
                    why.setdefault(index, []).append(f"the review: {item.judgement.reason or 'falls short'}")
        return sorted((index, "; ".join(reasons)) for index, reasons in why.items())


async def filter_dialogues(
    options: FilterOptions, *, judge: Any = None, generator: Any = None
) -> FilterSummary:
    """Check every dialogue of ``options.root``; record every decision; remove the rejected ones.

    Args:
        options: What to check and with which models.
        judge: A Backend to use instead of ``options.judge`` (tests pass a scripted one).
        generator: A Backend to use instead of ``options.generator``.

    Raises:
        DataError: The root or a dialogue file is malformed, or an image is missing (and not omitted).
        ConfigError: Contradicting options.
        EndpointUnavailable: A model endpoint is down (finished calls are in the store).
    """
    from mmrole.models.registry import load_backend

    if judge is not None or generator is not None:
        # Passing a backend is passing the model: the options may then leave the spec out.
        from dataclasses import replace

        options = replace(
            options,
            judge=options.judge or (getattr(judge, "spec", "judge") if judge is not None else None),
            generator=options.generator
            or (getattr(generator, "spec", "generator") if generator is not None else None),
        )
    options.check()
    root = Path(options.root)
    if not (root / "profiles").is_dir():
        raise DataError("not an MMRole-Data root: no profiles/ folder", file=str(root))
    owned: list[Any] = []
    backends: dict[str, Any] = {}
    for name, given, spec in (("judge", judge, options.judge), ("generator", generator, options.generator)):
        if given is not None:
            backends[name] = given
        elif spec and (name == "judge" or options.refine):
            if name == "generator" and spec == options.judge and "judge" in backends and judge is None:
                backends[name] = backends["judge"]  # one model in memory for both roles
                continue
            backends[name] = load_backend(spec)
            if isinstance(spec, str):  # a Backend given in the options belongs to the caller
                owned.append(backends[name])
    try:
        folder = BuildFolder(root)
        with folder.lock(), Store(folder.store_path) as store:
            run = _Filter(options, store)
            items = await run.run(backends)
            outputs = write_results(items, root)
    finally:
        for backend in owned:
            await backend.aclose()
    return summarize(items, run.calls, outputs)


def build_filter(options: FilterOptions, **backends: Any) -> FilterSummary:
    """:func:`filter_dialogues` from synchronous code."""
    return asyncio.run(filter_dialogues(options, **backends))
