"""Bad images and non-UTF-8 files: one clear line from `data convert`, a problem from `data validate`."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import pytest

from mmrole.data import load_samples, sample_to_qwen
from mmrole.data.convert import read_vlmeval_tsv, write_vlmeval_tsv
from mmrole.data.jsonio import iter_json_array, read_json
from mmrole.data.validate import validate
from mmrole.errors import DataError
from mmrole.images import MAX_IMAGE_PIXELS, read_image
from mmrole.testing.bad_images import BAD_IMAGES, BadImage

BAD = [pytest.param(case, id=case.name) for case in BAD_IMAGES]
#: `data convert` writes images as they are (TSV, OpenAI messages) or downscaled.
CONVERSIONS = {
    "vlmeval-tsv": ["--to", "vlmeval-tsv"],
    "openai": ["--to", "openai"],
    "openai-downscaled": ["--to", "openai", "--max-image-side", "20"],
}


def _samples_with_image(folder: Path, image_name: str, data: bytes, n: int = 2) -> Path:
    """A samples JSONL of ``n`` demo samples whose image is ``images/<image_name>`` holding ``data``."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "images" / image_name).write_bytes(data)
    samples = list(load_samples("demo"))[:n]
    path = folder / "samples.jsonl"
    path.write_text(
        "".join(s.model_copy(update={"image": image_name}).model_dump_json() + "\n" for s in samples)
    )
    return path


@pytest.mark.parametrize("conversion", CONVERSIONS)
@pytest.mark.parametrize("case", BAD)
def test_convert_refuses_a_bad_image_in_one_line(tmp_path, run_mmrole, case: BadImage, conversion):
    samples = _samples_with_image(tmp_path, case.name, case.data())
    first = next(iter(load_samples(samples)))
    line = run_mmrole.refused("data", "convert", samples, "-o", tmp_path / "out", *CONVERSIONS[conversion])
    assert f"{tmp_path / 'images' / case.name}, record {first.id}, field 'image'" in line
    assert case.error in line


@pytest.mark.parametrize("case", BAD)
def test_validate_reports_a_bad_image_as_a_problem(tmp_path, run_mmrole, case: BadImage):
    samples = _samples_with_image(tmp_path, case.name, case.data())
    report = validate(samples)
    assert not report.ok and report.counts["bad-image"] == 2  # both samples use it
    problem = report.problems["bad-image"][0]
    assert (problem.file, problem.field) == (str(samples), "image")
    assert case.name in problem.message and case.error in problem.message
    code, out, err = run_mmrole("data", "validate", samples, "--json")
    assert code == 1 and "Traceback" not in err
    assert json.loads(out)["problems"]["bad-image"]["count"] == 2


def test_a_good_image_validates_and_converts(tmp_path, run_mmrole):
    from PIL import Image

    Image.new("RGB", (40, 30), "teal").save(tmp_path / "ok.png")
    samples = _samples_with_image(tmp_path, "ok.png", (tmp_path / "ok.png").read_bytes())
    assert validate(samples).ok
    for conversion in CONVERSIONS.values():
        code, _, err = run_mmrole("data", "convert", samples, "-o", tmp_path / "out", *conversion)
        assert code == 0, err


def test_the_pixel_limit_is_mmroles_own(tmp_path):
    from mmrole.testing.bad_images import png_header

    side = int(MAX_IMAGE_PIXELS**0.5)
    just_over = tmp_path / "big.png"
    just_over.write_bytes(png_header(side + 1, side))
    with pytest.raises(DataError, match=f"{side + 1}x{side}"):
        read_image(just_over, 64)


def test_vlmeval_tsv_with_a_bad_embedded_image_is_one_error(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    sample = next(iter(load_samples("demo"))).model_copy(update={"image": "ok.png"})
    tsv = tmp_path / "set.tsv"
    write_vlmeval_tsv([sample], tmp_path, tsv)
    with tsv.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    rows[0]["image"] = base64.b64encode(b"these bytes are no picture\n" * 8).decode()  # base64, no image
    rows[0]["image_path"] = ""  # no name: it is made from the image's format
    with tsv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DataError, match="not an image file") as caught:
        list(read_vlmeval_tsv(tsv, tmp_path / "out"))
    assert caught.value.file == str(tsv) and caught.value.record == sample.id


# -- files that are not UTF-8 -------------------------------------------------------------------
LATIN1 = "Caf\xe9 au lait".encode("latin-1")  # b"\xe9": a byte UTF-8 never starts a character with


def test_non_utf8_jsonl_is_one_line_with_file_and_line(tmp_path, run_mmrole):
    samples = list(load_samples("demo"))[:3]
    path = tmp_path / "samples.jsonl"
    lines = [s.model_dump_json().encode() for s in samples]
    lines[1] = lines[1].replace(b'"reference":"', b'"reference":"' + LATIN1, 1)
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match=r"not UTF-8 text at line 2, byte \d+ \(byte 0xe9\)") as caught:
        list(load_samples(path))
    assert caught.value.file == str(path)
    line = run_mmrole.refused("data", "convert", path, "-o", tmp_path / "out.jsonl", "--to", "jsonl")
    assert f"error: {path}: not UTF-8 text at line 2" in line
    # validate reports it and goes on with the other lines
    report = validate(path)
    assert [p.message for p in report.problems["malformed-json"]] == [caught.value.reason] and report.checked[
        "samples"
    ] == 2
    code, _, err = run_mmrole("data", "validate", path)
    assert code == 1 and "Traceback" not in err


def test_non_utf8_json_files_name_the_line(tmp_path):
    profiles = tmp_path / "roles.json"
    profiles.write_bytes(b'{\n  "Iron Man": "x",\n  "Thor": "' + LATIN1 + b'"\n}')
    with pytest.raises(DataError, match=r"roles\.json: not UTF-8 text at line 3, byte 15"):
        read_json(profiles)
    # The streaming reader of big arrays (MMRole's test and training files), past its first chunk.
    sample = sample_to_qwen(next(iter(load_samples("demo"))))
    records = [json.dumps(sample).encode()] * 40
    records[30] = records[30].replace(b'"value": "', b'"value": "' + LATIN1, 1)
    array = tmp_path / "human-role_test.json"
    array.write_bytes(b"[\n" + b",\n".join(records) + b"\n]")
    with pytest.raises(DataError, match=r"not UTF-8 text at line 32 "):
        list(iter_json_array(array, chunk_chars=4096))
    report = validate(array)
    assert "not UTF-8 text at line 32" in report.problems["malformed-json"][0].message
