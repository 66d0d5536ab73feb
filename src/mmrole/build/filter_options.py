"""The options of ``mmrole build filter`` (each field is a ``--flag``) and what the stage returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmrole.build.filter_rules import RuleLimits
from mmrole.build.stage import StageSummary
from mmrole.options import MAX_IMAGE_SIDE_HELP, MISSING_IMAGE_HELP
from mmrole.schema import MissingImage


def _help(text: str, **more: Any) -> dict[str, Any]:
    return {"help": text, **more}


@dataclass(frozen=True)
class FilterOptions:
    """Options of ``mmrole build filter`` (each field is a ``--flag``)."""

    root: Path = field(
        metadata=_help("The MMRole-Data root whose dialogues are checked.", required=True, argument=True)
    )
    judge: str | None = field(
        default=None, metadata=_help("Model spec of the LLM judge; none: the rule checks only.")
    )
    generator: str | None = field(
        default=None, metadata=_help("Model spec that rewrites failing turns (with --refine).")
    )
    refine: bool = field(
        default=False,
        metadata=_help("Rewrite failing turns with the generator instead of dropping the dialogue."),
    )
    refine_rounds: int = field(default=1, metadata=_help("Rewrites a dialogue may get before it is dropped."))
    refine_max_tokens: int = field(default=2048, metadata=_help("Token limit of a rewrite reply."))
    min_judge_score: float = field(
        default=6.0, metadata=_help("Lowest review score (1-10, the lowest of its criteria) that is kept.")
    )
    on_judge_error: Literal["reject", "keep"] = field(
        default="reject",
        metadata=_help("A dialogue whose review failed or could not be read: reject or keep."),
    )
    judge_format_retries: int | None = field(
        default=None, metadata=_help("Re-asks of an unreadable review (default 1; demo judge 0).")
    )
    judge_max_tokens: int | None = field(
        default=None, metadata=_help("Token limit of a review (default 256; demo judge 24).")
    )
    judge_prefill: str | None = field(
        default=None, metadata=_help("Text the review is made to start with (demo judge: the JSON's start).")
    )
    images: Path | None = field(default=None, metadata=_help("The image folder (default: ROOT/images)."))
    missing_image: MissingImage = field(default="error", metadata=_help(MISSING_IMAGE_HELP))
    max_image_side: int | None = field(default=None, metadata=_help(MAX_IMAGE_SIDE_HELP))
    min_turns: int = field(default=4, metadata=_help("Fewest turns of a human-role or inter-role dialogue."))
    max_turns: int = field(default=30, metadata=_help("Most turns of a human-role or inter-role dialogue."))
    min_turn_chars: int = field(default=2, metadata=_help("Fewest characters of a turn."))
    max_turn_chars: int = field(default=4000, metadata=_help("Most characters of a turn."))
    min_cjk_ratio: float = field(
        default=0.3, metadata=_help("Chinese characters: least share of CJK letters per turn.")
    )
    max_cjk_ratio: float = field(
        default=0.05, metadata=_help("English characters: most share of CJK letters per turn.")
    )
    duplicate_jaccard: float = field(
        default=0.8,
        metadata=_help(
            "Shingle overlap (Jaccard) at which two dialogues of a character are near-duplicates."
        ),
    )
    concurrency: int = field(default=32, metadata=_help("Calls in flight at most."))
    max_retries: int = field(
        default=5, metadata=_help("Retries per call on 429, 5xx, timeouts, dropped connections.")
    )
    rpm: float | None = field(default=None, metadata=_help("At most this many calls per minute."))
    progress: bool = field(default=True, metadata=_help("Show a progress bar."))

    def check(self) -> None:
        """Refuse contradicting or impossible settings before any work (one line each)."""
        from mmrole.errors import ConfigError

        if self.on_judge_error not in ("reject", "keep"):
            raise ConfigError(f"--on-judge-error {self.on_judge_error}: choose reject or keep")
        if self.missing_image not in ("error", "omit"):
            raise ConfigError(f"--missing-image {self.missing_image}: choose error or omit")
        if self.refine and not self.generator:
            raise ConfigError("--refine needs --generator (the model that rewrites the failing turns)")
        if not 0 < self.duplicate_jaccard <= 1:
            raise ConfigError(f"--duplicate-jaccard {self.duplicate_jaccard}: a share in (0, 1]")
        if not 1 <= self.min_judge_score <= 10:
            raise ConfigError(f"--min-judge-score {self.min_judge_score}: a score from 1 to 10")
        for name in ("refine_rounds", "max_retries", "min_turn_chars"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be 0 or more")
        if (
            self.concurrency < 1
            or self.min_turns > self.max_turns
            or self.min_turn_chars > self.max_turn_chars
        ):
            raise ConfigError(
                "need --concurrency >= 1, --min-turns <= --max-turns, --min-turn-chars <= --max-turn-chars"
            )

    def limits(self) -> RuleLimits:
        return RuleLimits(
            self.min_turns,
            self.max_turns,
            self.min_turn_chars,
            self.max_turn_chars,
            self.min_cjk_ratio,
            self.max_cjk_ratio,
            self.duplicate_jaccard,
        )


@dataclass
class FilterSummary(StageSummary):
    """A :class:`StageSummary` of the filter with one per dialogue type (kept, rejected, reasons)."""

    by_type: dict[str, StageSummary] = field(default_factory=dict)
