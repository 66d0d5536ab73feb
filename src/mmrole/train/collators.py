"""Batches for training: chat examples -> padded tensors with the loss on the assistant's tokens only.

:class:`ChatCollator` works with any processor (vision-language models) or tokenizer (text-only
models) whose chat template renders conversation prefixes as prefixes, which covers the common
templates without the ``{% generation %}`` markers TRL's own assistant masks need:

1. render the conversation with the model's chat template and find the assistant turns'
   character spans (:func:`mmrole.train.formatting.assistant_spans`);
2. map the spans to tokens with the fast tokenizer's offsets;
3. let the processor tokenise the same text with the images (it expands image placeholders
   into image tokens) and carry the mask over (:func:`mmrole.train.formatting.align_to_expanded`).

Labels are the input ids with everything but the assistant tokens set to -100.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.errors import DataError
from mmrole.images import open_image
from mmrole.train.formatting import (
    align_to_expanded,
    assistant_spans,
    text_only,
    token_mask_from_offsets,
)

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
#: Per-token tensors a processor may return (cut to ``max_length`` with the input ids).
PER_TOKEN_KEYS = ("input_ids", "attention_mask", "labels", "token_type_ids", "mm_token_type_ids")


def load_image(path: str | Path, *, record: str | None = None) -> Any:
    """Open an image as RGB.

    Raises:
        DataError: The file is missing or not a usable image (empty, SVG, corrupt, too large),
            naming the example.
    """

    where: dict[str, Any] = {"file": str(path), "record": record, "field": "images"}
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("image not found", **where) from None
    except OSError as err:
        raise DataError(f"cannot read image: {err.strerror or err}", **where) from None
    return open_image(data, **where).convert("RGB")


def _messages(example: dict[str, Any]) -> list[dict[str, Any]]:
    messages = example["messages"]
    return json.loads(messages) if isinstance(messages, str) else messages


@dataclass
class ChatCollator:
    """Collate ``{"id", "messages", "images"}`` examples for supervised fine-tuning.

    Args:
        processor: A transformers processor (with ``.tokenizer``) or a fast tokenizer.
        max_length: Cut sequences to this many tokens (``None``: no limit). A cut through an
            image's tokens is an error naming the example (raise ``max_length``).
    """

    processor: Any
    max_length: int | None = None
    _tokenizer: Any = field(init=False, repr=False)
    _special_ids: set[int] = field(init=False, repr=False)
    _warned: set[Any] = field(init=False, repr=False, default_factory=set)

    def __post_init__(self) -> None:
        self._tokenizer = getattr(self.processor, "tokenizer", self.processor)
        if not getattr(self._tokenizer, "is_fast", False):
            raise DataError("assistant-only loss needs a fast tokenizer (offsets); this model has a slow one")
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._special_ids = set(self._tokenizer.added_tokens_decoder) | set(self._tokenizer.all_special_ids)

    @property
    def is_vision(self) -> bool:
        return self._tokenizer is not self.processor

    def render(self, messages: list[dict[str, Any]], add_generation_prompt: bool) -> str:
        return self.processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def __call__(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        texts, short_masks, short_ids, images = [], [], [], []
        for example in examples:
            messages = _messages(example)
            if not self.is_vision:
                messages = text_only(messages)
            try:
                spans = assistant_spans(self.render, messages)
            except ValueError as err:
                raise DataError(str(err), record=example.get("id")) from None
            text = self.render(messages, False)
            encoded = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            texts.append(text)
            short_ids.append(encoded["input_ids"])
            short_masks.append(token_mask_from_offsets(encoded["offset_mapping"], spans))
            if self.is_vision:
                images.append(
                    [load_image(path, record=example.get("id")) for path in example.get("images") or []]
                )

        common = dict(padding=True, padding_side="right", return_tensors="pt", add_special_tokens=False)
        if self.is_vision:
            batch = dict(self.processor(text=texts, images=images if any(images) else None, **common))
        else:
            batch = dict(self._tokenizer(texts, **common))
        input_ids = batch["input_ids"]
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        for row, example in enumerate(examples):
            length = int(batch["attention_mask"][row].sum())
            long_ids = input_ids[row, :length].tolist()
            try:
                origin = align_to_expanded(short_ids[row], long_ids)
            except ValueError as err:
                raise DataError(str(err), record=example.get("id")) from None
            mask = [short_masks[row][k] if k is not None else 0 for k in origin]
            if self.max_length is not None and length > self.max_length:
                # Special tokens the processor inserted are image tokens; so is any token with the same id.
                image_ids = {
                    long_ids[position] for position, k in enumerate(origin) if k is None
                } & self._special_ids
                if any(token in image_ids for token in long_ids[self.max_length :]):
                    raise DataError(
                        f"{length} tokens; max_length {self.max_length} would cut through the image tokens "
                        "(raise --max-length)",
                        record=example.get("id"),
                    )
            labels[row, :length] = torch.tensor(
                [token if keep else IGNORE_INDEX for token, keep in zip(long_ids, mask, strict=True)]
            )
        batch["labels"] = labels
        if self.max_length is not None and input_ids.shape[1] > self.max_length:
            for key in PER_TOKEN_KEYS:
                if key in batch:
                    batch[key] = batch[key][:, : self.max_length]
        self._warn_if_nothing_to_learn(examples, batch["labels"])
        return batch

    def _warn_if_nothing_to_learn(self, examples: Sequence[dict[str, Any]], labels: Any) -> None:
        """Say so (once per example) when truncation cut off every answer token of an example."""
        for row, example in enumerate(examples):
            key = example.get("id")
            if bool((labels[row] != IGNORE_INDEX).any()) or key in self._warned:
                continue
            self._warned.add(key)
            logger.warning(
                "example %s: max_length %s cuts off all of its answer tokens, so it trains nothing "
                "(raise --max-length)",
                key,
                self.max_length,
            )


@dataclass
class VisionPreferenceCollator:
    """Open the image files of preference examples, then collate them with TRL's vision DPO collator.

    Keeping paths in the dataset (not decoded images) keeps it small and lets dataloader workers
    read the images in parallel.
    """

    processor: Any
    max_length: int | None = None

    def __call__(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        from trl.trainer.dpo_trainer import DataCollatorForVisionPreference

        loaded = [
            {
                **example,
                "images": [
                    load_image(path, record=example.get("id")) for path in example.get("images") or []
                ],
            }
            for example in examples
        ]
        collate = DataCollatorForVisionPreference(processor=self.processor, max_length=self.max_length)
        batch = collate(loaded)
        check_completions_survive(batch, examples, self.max_length)
        return batch


def check_completions_survive(
    batch: dict[str, Any], examples: Sequence[dict[str, Any]], max_length: int | None
) -> None:
    """Fail when truncation left a pair with no chosen or rejected token to learn from.

    TRL's vision collator keeps the start of each sequence, so an MMRole prompt (profile,
    history, ~1k tokens) longer than ``max_length`` silently cuts the answers away and DPO's
    loss stays at log 2 with zero gradient.
    """
    mask = batch.get("completion_mask")
    if mask is None:
        return
    counts = mask.sum(dim=1).tolist()  # chosen rows first, then rejected rows
    n = len(examples)
    for index, example in enumerate(examples):
        if counts[index] == 0 or counts[index + n] == 0:
            raise DataError(
                f"the prompt fills max_length={max_length}, so truncation removes the answers; "
                "raise --max-length",
                record=str(example.get("id", index)),
                field="prompt",
            )
