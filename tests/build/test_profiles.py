"""`build profiles`: five-section profiles the loaders and the MRPA prompt builder accept, on the
reference release's source texts and seed attributes; bad replies fail and never reach the dataset."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from build_roots import copy_reference_profiles, summary_text

from mmrole.build.profiles import ProfileOptions, build_profiles
from mmrole.data import build_samples, load_characters
from mmrole.data.problems import Problem
from mmrole.engine.options import EngineOptions
from mmrole.errors import DataError
from mmrole.prompts.build_profiles import SECTIONS, SUMMARY_HEADERS
from mmrole.prompts.mrpa import Persona, build_instruction
from mmrole.testing import ScriptedBackend
from mmrole.testing.build_replies import build_reply

#: Options of the engine in these tests: no progress bars.
QUIET = EngineOptions(progress=False)

SPLITS = ("in-distribution", "out-of-distribution")


def _stems(root: Path, sub: str) -> dict[str, list[str]]:
    return {split: sorted(p.stem for p in (root / "profiles" / split / sub).glob("*")) for split in SPLITS}


def _check_built(root: Path, names: set[str]) -> None:
    """Every name has five non-empty sections in both profiles, and the loaders accept the root."""
    problems: list[Problem] = []
    characters = load_characters(root, report=problems.append)
    assert problems == []
    for name in names:
        character = characters[name]
        assert character.profile is not None
        assert all(getattr(character.profile, section).strip() for section in SECTIONS)
        headers = re.findall(r"^### (.+)$", character.summary, re.M)
        assert tuple(headers) == SUMMARY_HEADERS[character.language]
        assert all(part.strip() for part in re.split(r"^### .+$", character.summary, flags=re.M)[1:])
        instruction = build_instruction(
            Persona(name, character.series, character.summary), None, character.language, []
        )
        assert character.summary in instruction


def _calls_for(backend: ScriptedBackend, marker: str) -> list[str]:
    return [call.text for call in backend.calls if marker in call.text]


def test_reference_characters_with_raw_info_en_get_profiles_the_loaders_and_mrpa_prompts_accept(
    tmp_path, mmrole_data_root
):
    root = copy_reference_profiles(mmrole_data_root, tmp_path / "root")
    dialogue = "dialogues/in-distribution/comment/Iron_Man_COCO.json"
    (root / dialogue).parent.mkdir(parents=True)
    shutil.copyfile(mmrole_data_root / dialogue, root / dialogue)
    raw = _stems(root, "raw_info_en")
    names = {name.replace("_", " ") for stems in raw.values() for name in stems}
    roles_before = {split: (root / "profiles" / split / "roles.json").read_text() for split in SPLITS}
    untouched = root / "profiles/in-distribution/detailed_profiles/Maya_Patel.json"
    maya = untouched.read_bytes()

    backend = ScriptedBackend(lambda call: build_reply(call.messages))
    summary = build_profiles(
        ProfileOptions(root=root, generator=backend, characters=sorted(names), overwrite=True, engine=QUIET)
    )
    assert (summary.kept, summary.failed, summary.calls) == (len(names) == 51 and 51, 0, 102)
    _check_built(root, names)
    # Each character's request carried its own source text (English), the summary its new profile.
    for split, stems in raw.items():
        for stem in stems:
            source = (root / "profiles" / split / "raw_info_en" / f"{stem}.txt").read_text()
            assert len(_calls_for(backend, source.strip()[:300])) == 1
    assert all("Write in English." in call.text for call in backend.calls)
    assert {split: (root / "profiles" / split / "roles.json").read_text() for split in SPLITS} == roles_before
    assert untouched.read_bytes() == maya  # a character not asked for is left alone
    # The MRPA prompts of the release's dialogues now carry the new profile.
    iron_man = load_characters(root)["Iron Man"].summary
    samples = list(build_samples(root, types=["comment"]))
    answered = [r for r in json.loads((root / dialogue).read_text()) if len(r["conversations"]) == 2]
    assert len(samples) == len(answered) > 40 and all(iron_man in sample.instruction for sample in samples)


def test_hypothetical_characters_are_invented_from_their_seed_attributes(tmp_path, mmrole_data_root):
    root = copy_reference_profiles(mmrole_data_root, tmp_path / "root")
    metas = {
        path: json.loads(path.read_text()) for path in sorted(root.glob("profiles/*/meta_info_hypo/*.json"))
    }
    names = {meta["name"] for meta in metas.values()}
    for split in SPLITS:  # as if never built: only their seed attributes remain
        folder = root / "profiles" / split
        for name in names:
            (folder / "detailed_profiles" / f"{name.replace(' ', '_')}.json").unlink(missing_ok=True)
        for file, drop in (
            ("profiles.json", lambda data: [data.pop(n, None) for n in names]),
            ("roles.json", lambda data: data.pop("Hypothetical Characters")),
        ):
            data = json.loads((folder / file).read_text())
            drop(data)
            (folder / file).write_text(json.dumps(data))
    backend = ScriptedBackend(lambda call: build_reply(call.messages))
    summary = build_profiles(
        ProfileOptions(root=root, generator=backend, characters=sorted(names), engine=QUIET)
    )
    assert (summary.kept, summary.failed) == (25, 0) and len(names) == 25
    _check_built(root, names)
    characters = load_characters(root)
    for path, meta in metas.items():
        character = characters[meta["name"]]
        assert character.series == "Hypothetical Characters" and character.split == path.parts[-3]
        (request,) = _calls_for(backend, f"{meta['name']} is an invented person")
        assert all(f"- {key}: {value}" in request for key, value in meta.items())
    roles = json.loads((root / "profiles/in-distribution/roles.json").read_text())
    assert len(roles["Hypothetical Characters"]) == 20  # registered under its series


def test_chinese_characters_are_written_in_chinese(root, generator):
    summary = build_profiles(
        ProfileOptions(root=root, generator=generator, languages=["Chinese"], overwrite=True, engine=QUIET)
    )
    assert summary.kept == 2
    assert generator.calls and all("请用中文写作" in call.text for call in generator.calls)
    assert load_characters(root)["孙悟空"].summary.startswith("### 简要介绍\n")


def test_what_is_built_is_not_rebuilt_nor_overwritten_without_overwrite(root, generator):
    first = build_profiles(ProfileOptions(root=root, generator=generator, overwrite=True, engine=QUIET))
    assert first.kept == 6 and first.calls == 12
    files = {path: path.read_bytes() for path in root.glob("profiles/**/*.json")}
    again = build_profiles(ProfileOptions(root=root, generator=generator, engine=QUIET))
    assert (again.kept, again.skipped, again.calls) == (0, 6, 0)
    assert {path: path.read_bytes() for path in root.glob("profiles/**/*.json")} == files
    # A lost summary is written again from the detailed profile on disk (which is kept).
    profiles_json = root / "profiles/in-distribution/profiles.json"
    summaries = json.loads(profiles_json.read_text())
    del summaries["Woody"]
    profiles_json.write_text(json.dumps(summaries))
    detailed = (root / "profiles/in-distribution/detailed_profiles/Woody.json").read_bytes()
    fixed = build_profiles(ProfileOptions(root=root, generator=ScriptedBackend(), engine=QUIET))
    assert (fixed.kept, fixed.calls) == (1, 0)  # the summary call is in the store
    assert (root / "profiles/in-distribution/detailed_profiles/Woody.json").read_bytes() == detailed
    assert "Woody" in json.loads(profiles_json.read_text())


def _replying(bad: dict[str, str]):
    """The scripted generator, except that a request mentioning a key of ``bad`` gets its reply
    (another spec: its replies are not the good generator's in the store)."""

    def reply(call):
        for marker, text in bad.items():
            if marker in call.text:
                return text
        return build_reply(call.messages)

    return ScriptedBackend(reply, spec="scripted-bad")


SECTIONS_REPLY = {name: f"Some {name} text for the profile." for name in SECTIONS}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Sure! Woody is a cowboy doll who leads the toys.", "not valid JSON"),
        (
            json.dumps({k: v for k, v in SECTIONS_REPLY.items() if k != "relationship"}),
            "missing section: relationship",
        ),
        (json.dumps({**SECTIONS_REPLY, "catchphrase": "  "}), "empty section: catchphrase"),
        (json.dumps({name: "这是用中文写的一段人物介绍，内容很长。" for name in SECTIONS}), "wrong language"),
        ('{"introduction": "Woody is', "stopped mid-reply"),
    ],
)
def test_a_reply_that_is_not_a_profile_fails_with_its_reason_and_reaches_nothing(root, reply, reason):
    backend = _replying({"source text about Woody": reply})
    summary = build_profiles(ProfileOptions(root=root, generator=backend, format_retries=1, engine=QUIET))
    assert (summary.kept, summary.failed, summary.reasons) == (5, 1, {reason: 1})
    assert len(_calls_for(backend, "source text about Woody")) == 2  # asked once more, with the reason
    assert reason in _calls_for(backend, "source text about Woody")[1]
    assert not (root / "profiles/in-distribution/detailed_profiles/Woody.json").exists()
    # The root's own short profile stays: a failed character changes nothing.
    assert json.loads((root / "profiles/in-distribution/profiles.json").read_text())["Woody"] == summary_text(
        "Woody"
    )
    (record,) = [
        json.loads(line) for line in (root / ".build/failures/profiles.jsonl").read_text().splitlines()
    ]
    assert record["key"] == "detailed:in-distribution/Woody" and record["reason"] == reason
    assert record["reply"] == reply and record["attempts"] == 2


def test_a_new_character_is_registered_under_its_series_only_once_built(root, generator):
    raw = root / "profiles/in-distribution/raw_info_en/Jessie.txt"
    raw.write_text("Jessie is a yodeling cowgirl doll from Toy Story 2.")
    with pytest.raises(
        DataError, match=r"roles\.json, record Jessie, field 'series': 'Jessie' is not in roles\.json"
    ):
        build_profiles(ProfileOptions(root=root, generator=generator, characters=["Jessie"], engine=QUIET))
    assert generator.calls == []
    failing = _replying({"source text about Jessie": "no profile here"})
    build_profiles(
        ProfileOptions(root=root, generator=failing, characters=["Jessie"], series="Toy Story", engine=QUIET)
    )
    assert "Jessie" not in json.loads((root / "profiles/in-distribution/roles.json").read_text())["Toy Story"]
    build_profiles(
        ProfileOptions(
            root=root, generator=generator, characters=["Jessie"], series="Toy Story", engine=QUIET
        )
    )
    roles = json.loads((root / "profiles/in-distribution/roles.json").read_text())
    assert roles["Toy Story"] == ["Woody", "Buzz Lightyear", "Jessie"]
    assert load_characters(root)["Jessie"].series == "Toy Story"


def _meta(root: Path, text: str) -> None:
    folder = root / "profiles/in-distribution/meta_info_hypo"
    folder.mkdir()
    (folder / "Nobody.json").write_text(text)


BAD_INPUTS = {
    "no source": (
        lambda root: None,
        r"profiles, field 'characters': no raw_info_en/Nobody\.txt, raw_info_zh/Nobody\.txt or meta_info_hypo/Nobody\.json",
    ),
    "meta without a name": (
        lambda root: _meta(root, '{"age": "30"}'),
        r"meta_info_hypo/Nobody\.json, field 'name': no character name",
    ),
    "meta of another name": (
        lambda root: _meta(root, '{"name": "Somebody Else"}'),
        r"Nobody\.json, field 'name': name 'Somebody Else' does not match the file name",
    ),
    "raw info not UTF-8": (
        lambda root: (root / "profiles/in-distribution/raw_info_en/Nobody.txt").write_bytes(b"\xff\xfe bad"),
        r"raw_info_en/Nobody\.txt: not UTF-8 text",
    ),
    "roles.json not lists": (
        lambda root: (root / "profiles/in-distribution/roles.json").write_text('{"Toy Story": "Woody"}'),
        r"roles\.json, field 'Toy Story': must be a list of character names",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_naming_file_and_field_and_calls_nothing(root, generator, case):
    setup, message = BAD_INPUTS[case]
    setup(root)
    with pytest.raises(DataError, match=message) as refused:
        build_profiles(
            ProfileOptions(root=root, generator=generator, characters=["Nobody"], series="X", engine=QUIET)
        )
    assert "\n" not in str(refused.value) and generator.calls == []


def test_limit_builds_the_first_n_characters_not_yet_built(root, generator):
    for _ in range(2):
        summary = build_profiles(
            ProfileOptions(root=root, generator=generator, overwrite=False, limit=2, engine=QUIET)
        )
        assert (summary.kept, summary.calls) == (2, 2)  # the root has their short profiles already
    built = sorted(p.stem for p in root.glob("profiles/*/detailed_profiles/*.json"))
    assert built == ["Buzz_Lightyear", "Woody", "唐僧", "孙悟空"]  # raw_info_en, then raw_info_zh
