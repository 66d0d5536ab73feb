"""mmrole.data: MMRole-Data loaders, the sample builder, validation, statistics, converters and the demo set."""

from __future__ import annotations

from mmrole.data.characters import load_characters
from mmrole.data.dialogues import load_annotations, load_dialogues
from mmrole.data.problems import Problem
from mmrole.data.qwen import iter_conversation_records, load_qwen_samples, sample_to_qwen
from mmrole.data.samples import (
    build_samples,
    read_samples_jsonl,
    samples_of_dialogue,
    turn_sample,
    write_samples_jsonl,
)
from mmrole.data.sources import demo_root, image_root, load_samples, resolve_source

__all__ = [
    "Problem",
    "build_samples",
    "demo_root",
    "image_root",
    "iter_conversation_records",
    "load_annotations",
    "load_characters",
    "load_dialogues",
    "load_qwen_samples",
    "load_samples",
    "read_samples_jsonl",
    "resolve_source",
    "sample_to_qwen",
    "samples_of_dialogue",
    "turn_sample",
    "write_samples_jsonl",
]
