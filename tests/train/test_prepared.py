"""Training data streamed into a memory-mapped dataset equals the in-memory examples, row by row,
with the same held-out counts, and is reused only while its inputs are unchanged."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from train_helpers import smoke

from mmrole.data import load_samples
from mmrole.data.holdout import dialogue_id, training_samples
from mmrole.errors import ConfigError, DataError
from mmrole.eval.results import review_record, write_run
from mmrole.runs import RunFolder, StageInputs
from mmrole.train import DPOConfig, JudgeTrainConfig, SFTConfig, preference_record, write_preferences
from mmrole.train.dpo import preference_dataset, prepare_dpo_data, read_dpo_data
from mmrole.train.examples import to_dataset
from mmrole.train.judge import judge_examples, prepare_judge_data
from mmrole.train.sft import prepare_sft_data, read_sft_data

WARNINGS = "mmrole"


def warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What mmrole warned about (the held-out counts, skipped images), in order; then forgotten."""
    found = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name != "py.warnings"
    ]
    caplog.clear()
    return found


def in_memory_and_streamed(read, prepare, config, caplog, cache: Path, *, with_images=True, preference=False):
    """Rows and warnings of the in-memory path, of a first preparation and of its reuse."""
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        examples = read(config)
        build = preference_dataset if preference else to_dataset
        memory = build(examples, with_images=with_images).to_list(), warned(caplog)
        first = prepare(config, cache_dir=cache)
        streamed = first.dataset.to_list(), warned(caplog)
        again = prepare(config, cache_dir=cache)
        reused = again.dataset.to_list(), warned(caplog)
    return memory, (first, streamed), (again, reused)


def assert_same(memory, first, again) -> None:
    (prepared, streamed), (reuse, reused) = first, again
    assert streamed == memory and reused == memory
    assert not prepared.reused and reuse.reused and reuse.folder == prepared.folder
    assert prepared.examples == len(memory[0]) == reuse.examples
    assert prepared.with_images == sum(1 for row in memory[0] if row["images"])
    # On disk and memory-mapped, in the cache folder: not a table held in memory.
    (arrow,) = {Path(f["filename"]) for f in reuse.dataset.cache_files}
    assert arrow.is_relative_to(prepared.folder) and arrow.stat().st_size > 0


@pytest.fixture(scope="module")
def images(small_root_with_test_split, tmp_path_factory) -> Path:
    """An image folder holding a tiny picture for each image the small root's samples show."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    names = {s.image for s in load_samples(small_root_with_test_split)} | {"Iron_Man/01.png"}
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (200, 10, 10)).save(folder / name, format="PNG")
    return folder


@pytest.fixture()
def training_file(tmp_path, mmrole_data_root, in_test_root) -> Path:
    """A Qwen-VL-format training file inside a data root: test records, a test dialogue, an
    out-of-distribution character, an id given twice, a multi-turn record, an image tag."""
    from data_roots import build_root_with_test_split

    root = build_root_with_test_split(tmp_path / "root", mmrole_data_root, in_test_root, ())
    test_ids = [s.id for s in load_samples(root / "data" / "test")][:2]
    image = "Iron_Man/01.png"
    turn = [{"from": "user", "value": "Q"}, {"from": "assistant", "value": "A"}]
    records = [
        {"id": test_ids[0], "conversations": turn},
        {"id": dialogue_id(test_ids[1]), "conversations": turn * 2},
        {"id": "Penny_comment_COCO_0", "conversations": turn},
        {"id": "Iron_Man_comment_COCO_99998", "image": image, "conversations": turn * 3},
        {"id": "Iron_Man_comment_COCO_99998", "conversations": turn},
        {
            "id": "Iron_Man_comment_COCO_99999",
            "conversations": [
                {"from": "human", "value": f"Picture 1: <img>images/{image}</img>\nHi"},
                turn[1],
            ],
        },
    ]
    path = root / "data" / "train" / "train.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(records, ensure_ascii=False))
    return path


@pytest.mark.parametrize("max_samples", [None, 2])
def test_streamed_sft_data_equals_the_in_memory_examples(
    training_file, small_root_with_test_split, images, tmp_path, caplog, max_samples
) -> None:
    data = f"{training_file},{small_root_with_test_split}"
    config = smoke(
        SFTConfig, model="unused", data=data, output_dir="o", image_root=str(images), max_samples=max_samples
    )
    memory, first, again = in_memory_and_streamed(read_sft_data, prepare_sft_data, config, caplog, tmp_path)
    assert_same(memory, first, again)
    ids = [row["id"] for row in memory[0]]
    if max_samples is None:
        assert ids[:3] == [
            "Iron_Man_comment_COCO_99998",
            "Iron_Man_comment_COCO_99998#1",
            "Iron_Man_comment_COCO_99999",
        ]
        held_out = [m for m in memory[1] if "left out of training" in m]
        assert len(held_out) == 2  # one line per source, said again when the data is reused
        assert (
            "1 test samples, 1 other turns of test dialogues, 1 samples of out-of-distribution" in held_out[0]
        )
        assert "3 test samples, 18 other turns of test dialogues" in held_out[1]
    else:
        assert ids == ["Iron_Man_comment_COCO_99998", "Iron_Man_comment_COCO_99998#1"]
    assert first[1][1] == memory[1] == again[1][1]


def test_streamed_judge_data_equals_the_in_memory_trajectories(
    small_root_with_test_split, images, tmp_path, caplog
) -> None:
    root = small_root_with_test_split
    test_samples = list(load_samples(root / "data" / "test"))[:2]
    clean = training_samples(root)[0][:2]
    samples = [*test_samples, *clean]
    run = tmp_path / "run"
    write_run(
        RunFolder(run),
        samples,
        [{"id": s.id, "answer": "An answer.", "error": None, "meta": {}} for s in samples],
        inputs=StageInputs("openai:agent"),
        summary={"data": {"source": str(root / "data" / "test" / "in-distribution")}},
        judge_inputs=StageInputs("openai:judge"),
        reviews=[
            review_record(sample_id=s.id, metric=metric, text=f"{metric}. [Scores]: (6, 8)", score=(6, 8))
            for s in samples
            for metric in ("Fluency", "Coherency")
        ]
        + [review_record(sample_id=clean[0].id, metric="Fluency", text="", score=None, error="timeout")],
    )
    review = "Fine. [Scores]: (5, 7)"
    rm_data = tmp_path / "rm.json"
    rm_data.write_text(
        json.dumps(
            [
                {
                    "id": f"rm{i}",
                    "conversations": [{"from": "user", "value": "Judge."}, {"from": "gpt", "value": review}],
                }
                for i in range(3)
            ]
        )
    )
    config = smoke(
        JudgeTrainConfig, model="unused", data=f"{run},{rm_data}", output_dir="o", image_root=str(images)
    )
    memory, first, again = in_memory_and_streamed(
        judge_examples, prepare_judge_data, config, caplog, tmp_path
    )
    assert_same(memory, first, again)
    assert len(memory[0]) == 2 * 2 + 3
    assert any("2 test samples" in m for m in memory[1]) and any(
        "1 failed or unscored" in m for m in memory[1]
    )


def test_streamed_preference_pairs_equal_the_in_memory_ones(tmp_path, data_dir, caplog) -> None:
    def pairs(name, images):
        records = [
            preference_record(
                f"p{i}", system="S", instruction=f"Q{i}", chosen="Good.", rejected="Bad.", images=images
            )
            for i in range(3)
        ]
        write_preferences(tmp_path / name, records)
        return tmp_path / name

    data = f"{pairs('a.jsonl', ['red.png'])},{pairs('b.jsonl', [])}"  # ids repeat across the files
    config = smoke(DPOConfig, model="unused", data=data, output_dir="o", image_root=str(data_dir / "images"))
    memory, first, again = in_memory_and_streamed(
        read_dpo_data, prepare_dpo_data, config, caplog, tmp_path / "cache", preference=True
    )
    assert_same(memory, first, again)
    assert [row["id"] for row in memory[0]] == ["p0", "p1", "p2", "p0#1", "p1#1", "p2#1"]
    assert memory[0][0]["prompt"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "Q0"}]


def sft_config(data: Path, **options):
    return smoke(SFTConfig, model="unused", data=str(data), output_dir="o", **options)


def test_changed_inputs_or_options_prepare_again(tmp_path, data_dir) -> None:
    data = tmp_path / "train.json"
    shutil.copy(data_dir / "train.json", data)
    shutil.copytree(data_dir / "images", tmp_path / "images")
    cache = tmp_path / "cache"
    first = prepare_sft_data(sft_config(data), cache_dir=cache)
    assert prepare_sft_data(sft_config(data), cache_dir=cache).reused

    records = json.loads(data.read_text())
    records[0]["conversations"][1]["value"] = "Changed."
    data.write_text(json.dumps(records))
    changed = prepare_sft_data(sft_config(data), cache_dir=cache)
    assert not changed.reused and changed.folder != first.folder
    assert "Changed." in changed.dataset[0]["messages"]

    fewer = prepare_sft_data(sft_config(data, max_samples=1), cache_dir=cache)
    assert not fewer.reused and fewer.examples == 1


def test_an_image_gone_since_preparing_stops_the_rerun(tmp_path, data_dir) -> None:
    data = tmp_path / "train.json"
    shutil.copy(data_dir / "train.json", data)
    shutil.copytree(data_dir / "images", tmp_path / "images")
    cache = tmp_path / "cache"
    prepare_sft_data(sft_config(data), cache_dir=cache)
    (tmp_path / "images" / "blue.png").unlink()
    with pytest.raises(DataError, match="image not found") as err:
        prepare_sft_data(sft_config(data), cache_dir=cache)
    assert err.value.record == "r2"
    skipped = prepare_sft_data(sft_config(data, missing_images="skip"), cache_dir=cache)
    assert [row["id"] for row in skipped.dataset] == ["r1"]
    # Prepared while an image was missing: prepared again each time (it may be back).
    shutil.copy(tmp_path / "images" / "red.png", tmp_path / "images" / "blue.png")
    again = prepare_sft_data(sft_config(data, missing_images="skip"), cache_dir=cache)
    assert not again.reused and [row["id"] for row in again.dataset] == ["r1", "r2"]


def test_bad_data_raises_its_own_error_and_leaves_nothing_to_reuse(tmp_path, data_dir) -> None:
    data = tmp_path / "train.json"
    records = json.loads((data_dir / "train.json").read_text())
    shutil.copytree(data_dir / "images", tmp_path / "images")
    data.write_text(json.dumps([*records, {"id": "bad", "conversations": [{"from": "robot", "value": "x"}]}]))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="unknown speaker") as err:
        prepare_sft_data(sft_config(data), cache_dir=cache)
    assert err.value.record == "bad"
    with pytest.raises(DataError, match="unknown speaker"):  # not a half-written dataset reused
        prepare_sft_data(sft_config(data), cache_dir=cache)
    with pytest.raises(ConfigError, match="--missing-images"):
        prepare_sft_data(sft_config(data, missing_images="maybe"), cache_dir=cache)


def test_deleted_arrow_files_are_prepared_again(tmp_path, data_dir) -> None:
    cache = tmp_path / "cache"
    first = prepare_sft_data(sft_config(data_dir / "train.json"), cache_dir=cache)
    rows = first.dataset.to_list()
    for file in first.dataset.cache_files:
        Path(file["filename"]).unlink()
    again = prepare_sft_data(sft_config(data_dir / "train.json"), cache_dir=cache)
    assert not again.reused and again.dataset.to_list() == rows


def test_a_text_only_model_gets_the_dataset_without_images(tmp_path, data_dir) -> None:
    prepared = prepare_sft_data(sft_config(data_dir / "train.json"), cache_dir=tmp_path)
    assert prepared.for_model(vision=False).column_names == ["id", "messages"]
    assert prepared.for_model(vision=True).column_names == ["id", "messages", "images"]
