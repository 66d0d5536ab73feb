"""`build annotate`: stills without an annotation get one, merged into annotations.json without
losing an entry; bad replies and bad stills never reach the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mmrole.build.annotate import AnnotateOptions, build_annotations
from mmrole.data.dialogues import load_annotations
from mmrole.data.paths import UnsafePathError
from mmrole.engine.options import EngineOptions
from mmrole.errors import DataError
from mmrole.testing import ScriptedBackend
from mmrole.testing.build_replies import build_reply

#: Options of the engine in these tests: no progress bars.
QUIET = EngineOptions(progress=False)


def _image_of(call) -> str:
    (part,) = [p for p in call.messages[-1]["content"] if p.get("type") == "image_url"]
    return part["image_url"]["url"]


def _annotations(root: Path) -> list[dict]:
    return json.loads((root / "images/annotations.json").read_text())


def test_stills_without_an_entry_are_annotated_and_merged_keeping_every_entry(root, generator):
    before = _annotations(root)
    summary = build_annotations(AnnotateOptions(root=root, generator=generator, engine=QUIET))
    assert (summary.kept, summary.failed, summary.skipped, summary.calls) == (4, 0, 3, 4)
    after = _annotations(root)
    assert after[: len(before)] == before  # existing entries first, as they were
    new = {entry["image"]: entry for entry in after[len(before) :]}
    assert sorted(new) == [
        "The_Big_Bang_Theory/02.jpg",
        "Toy_Story/02.jpg",
        "Toy_Story/03.jpg",
        "西游记/02.jpg",
    ]
    assert all(set(entry) == {"image", "role_info", "place_info", "scene_info"} for entry in new.values())
    assert new["西游记/02.jpg"]["role_info"].startswith("这是")  # the series' language
    # Each request showed its own still (the real file) and named the series and its characters.
    by_image = {
        Path(_image_of(call)).relative_to((root / "images").resolve()).as_posix(): call
        for call in generator.calls
    }
    assert sorted(by_image) == sorted(new)
    assert "Woody, Buzz Lightyear" in by_image["Toy_Story/02.jpg"].text
    assert (
        "请用中文写作" in by_image["西游记/02.jpg"].text and "孙悟空、唐僧" in by_image["西游记/02.jpg"].text
    )
    # The loader reads them; a rerun changes nothing and calls nothing.
    assert load_annotations(root)["Toy_Story/02.jpg"].place_info == new["Toy_Story/02.jpg"]["place_info"]
    text = (root / "images/annotations.json").read_bytes()
    again = build_annotations(AnnotateOptions(root=root, generator=ScriptedBackend(), engine=QUIET))
    assert (again.kept, again.skipped, again.calls) == (0, 7, 0)
    assert (root / "images/annotations.json").read_bytes() == text


def test_overwrite_annotates_every_still_again_in_place(root, generator):
    before = _annotations(root)
    build_annotations(
        AnnotateOptions(root=root, generator=generator, series=["Toy Story"], overwrite=True, engine=QUIET)
    )
    after = _annotations(root)
    assert [entry["image"] for entry in after] == [e["image"] for e in before] + [
        "Toy_Story/02.jpg",
        "Toy_Story/03.jpg",
    ]
    assert after[0]["image"] == "Toy_Story/01.jpg" and after[0]["role_info"] != before[0]["role_info"]
    assert after[1:3] == before[1:3]  # other series untouched


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Woody and Buzz stand in Andy's room.", "not valid JSON"),
        ('{"people": "Woody"}', "not an annotation"),
        ('{"role_info": ["Woody", 3], "place_info": "", "scene_info": ""}', "missing field: role_info"),
        ('{"role_info": "...", "place_info": "", "scene_info": ""}', "empty field: role_info"),
        (
            '{"role_info": "胡迪和巴斯站在安迪的房间里。", "place_info": "安迪的房间", "scene_info": ""}',
            "wrong language",
        ),
    ],
)
def test_a_reply_that_is_not_an_annotation_fails_and_is_not_merged(root, reply, reason):
    backend = ScriptedBackend(
        lambda call: reply if _image_of(call).endswith("Toy_Story/02.jpg") else build_reply(call.messages)
    )
    summary = build_annotations(AnnotateOptions(root=root, generator=backend, engine=QUIET))
    assert (summary.kept, summary.failed, summary.reasons) == (3, 1, {reason: 1})
    assert "Toy_Story/02.jpg" not in {entry["image"] for entry in _annotations(root)}
    (record,) = [
        json.loads(line) for line in (root / ".build/failures/annotate.jsonl").read_text().splitlines()
    ]
    assert (record["key"], record["reason"], record["attempts"]) == ("Toy_Story/02.jpg", reason, 3)


def test_empty_fields_are_allowed_as_in_the_release(root):
    backend = ScriptedBackend(default='{"role_info": "", "place_info": "Andy\'s room"}')
    build_annotations(AnnotateOptions(root=root, generator=backend, series=["Toy Story"], engine=QUIET))
    entry = {e["image"]: e for e in _annotations(root)}["Toy_Story/02.jpg"]
    assert entry == {
        "image": "Toy_Story/02.jpg",
        "role_info": "",
        "place_info": "Andy's room",
        "scene_info": "",
    }


def test_a_still_linking_out_of_the_image_folder_is_refused_and_never_sent(root, generator, outside_secret):
    secret, _ = outside_secret
    os.symlink(secret, root / "images/Toy_Story/04.png")
    with pytest.raises(
        UnsafePathError, match=r"record Toy_Story/04\.png, field 'image': image path .* resolves outside"
    ):
        build_annotations(AnnotateOptions(root=root, generator=generator, engine=QUIET))
    assert generator.calls == []


def test_bad_files_are_one_line_errors_naming_them(root, generator):
    (root / "images/Toy_Story/04.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"record Toy_Story/04\.jpg, field 'image'"):
        build_annotations(AnnotateOptions(root=root, generator=generator, engine=QUIET))
    (root / "images/Toy_Story/04.jpg").unlink()
    good = (root / "images/annotations.json").read_text()
    (root / "images/annotations.json").write_text('[{"role_info": "x"}]')
    with pytest.raises(
        DataError, match=r"annotations\.json, record #0, field 'image': an entry without an image path"
    ):
        build_annotations(AnnotateOptions(root=root, generator=generator, engine=QUIET))
    (root / "images/annotations.json").write_text(good)
    with pytest.raises(DataError, match=r"profiles, field 'series': no series 'Cars' in any roles\.json"):
        build_annotations(AnnotateOptions(root=root, generator=generator, series=["Cars"], engine=QUIET))
    assert generator.calls == []
