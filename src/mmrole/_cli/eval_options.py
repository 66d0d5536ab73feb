"""Options shared by `mmrole judge` and `mmrole eval` (and the enums they take)."""

from __future__ import annotations

from enum import Enum

import typer

from mmrole._cli import max_failures_option


class Scoring(str, Enum):
    sampled = "sampled"
    logprob = "logprob"


class MissingImage(str, Enum):
    error = "error"
    omit = "omit"


JUDGE = typer.Option(..., "--judge", help="Judge model: openai:MODEL[@URL], hf:PATH, replay:FILE or demo.")
RUN = typer.Option(..., "--run", help="The run folder.")
METRICS = typer.Option(
    None, "--metrics", help="Comma-separated metrics to judge (default: all 8), e.g. 'Fluency,Coherency'."
)
SWAP = typer.Option(False, "--swap", help="Also judge with the answers swapped and combine both orders.")
REPEATS = typer.Option(1, "--repeats", min=1, help="Judge each pair N times (distinct draws) and average.")
SCORING = typer.Option(
    None, "--scoring", help="sampled: the written scores (MMRole). logprob: the expected score over 1..10."
)
JUDGE_MAX_TOKENS = typer.Option(None, "--judge-max-tokens", min=1, help="Judge reply cap (default 512).")
TEMPERATURE = typer.Option(None, "--judge-temperature", min=0.0, help="Judge temperature (default 0).")
FORMAT_RETRIES = typer.Option(
    None,
    "--format-retries",
    min=0,
    help="Re-asks, with a format reminder, of replies without scores (default 2).",
)
PREFILL = typer.Option(
    None,
    "--prefill",
    help="Make the judge's reply start with this text (e.g. '[Scores]: (' for tiny judges).",
)
SCALE = typer.Option(
    None,
    "--scale",
    help="The judge's score scale LOW-HIGH (default 1-10, MMRole's); a pair off it is asked again, then failed.",
)
MISSING = typer.Option(
    None, "--missing-image", help="An absent image file stops judging (error) or is judged without it (omit)."
)
IMAGES = typer.Option(None, "--images", help="Folder the samples' image paths are relative to.")
MAX_SIDE = typer.Option(None, "--max-image-side", min=16, help="Downscale images to this longer side.")
CONCURRENCY = typer.Option(32, "--concurrency", min=1, help="Calls in flight at most.")
MAX_RETRIES = typer.Option(5, "--max-retries", min=0, help="Retries per request on 429, 5xx, timeouts.")
RPM = typer.Option(None, "--rpm", min=0.1, help="At most this many requests per minute.")
N_BOOT = typer.Option(1000, "--n-boot", min=10, help="Bootstrap replicates for confidence intervals.")
SEED = typer.Option(0, "--seed", help="Seed of the bootstrap (and permutation) draws.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show progress bars.")
#: Judging commands: the demo judge's preset tolerates some failures (presets.DEMO_MAX_FAILURES).
MAX_FAILURES = max_failures_option(
    None, " With the demo judge the default is 0.1: a 135M judge misses the format now and then."
)
OVERWRITE = typer.Option(
    False,
    "--overwrite",
    help="Start afresh when the run folder was judged (or answered) with another model, other data or "
    "other options, instead of refusing; drops the files that depended on it. Calls cached in the run's "
    "store are reused.",
)
