"""The MRPA samples built from the reference release are byte-identical to MMRole's released In-Test set."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from mmrole.data import load_annotations
from mmrole.prompts.mrpa import MRPA_SYSTEM, PART_SEPARATOR, Persona, build_instruction
from mmrole.schema import Character, Sample

IN_TEST_MODEL = "mmrole-agent"  # same as conftest.py

TYPES = ("comment", "human-role", "inter-role")


def _dialogue_id(sample_id: str) -> str:
    return sample_id.rsplit("_", 1)[0]


def test_in_test_samples_are_the_same_for_every_model(in_test_root: Path):
    def key(record: dict) -> tuple:
        turns = record["conversations"]
        return (record["id"], record["system"], record["image"], turns[0]["value"], turns[1]["value"])

    models = sorted(p.name for p in in_test_root.iterdir() if p.is_dir())
    assert len(models) >= 2 and IN_TEST_MODEL in models
    for dialogue_type in TYPES:
        per_model = {
            model: [
                key(r)
                for r in json.loads((in_test_root / model / f"{dialogue_type}_test.reviews.json").read_text())
            ]
            for model in models
        }
        first = per_model[IN_TEST_MODEL]
        assert len(first) == 72
        for model, records in per_model.items():
            assert records == first, f"{model}'s {dialogue_type} samples differ from {IN_TEST_MODEL}'s"


def test_released_in_test_loads_with_split_type_and_language(released_in_test: list[Sample]):
    assert len(released_in_test) == 216
    assert {s.split for s in released_in_test} == {"in-distribution"}
    assert Counter(s.type for s in released_in_test) == {t: 72 for t in TYPES}
    chinese = {s.role for s in released_in_test if s.language == "Chinese"}
    assert chinese and all("\u4e00" <= s[0] <= "\u9fff" for s in chinese)


def test_built_samples_match_the_released_in_test_byte_for_byte(
    reference_samples: dict[str, Sample], reference_sample_ids: list[str], released_in_test: list[Sample]
):
    """Every released In-Test sample whose dialogue is in this release is rebuilt exactly.

    No allowlist: this release's profiles, annotations and dialogues reproduce all of them.
    """
    built_ids = set(reference_sample_ids)
    assert len(built_ids) == len(reference_sample_ids) == 74_099  # ids are unique
    in_release = [s for s in released_in_test if s.id in built_ids]
    assert len(in_release) == 191
    for released in in_release:
        built = reference_samples[released.id]
        assert built.system == released.system == MRPA_SYSTEM, released.id
        assert built.instruction == released.instruction, released.id
        assert built.reference == released.reference, released.id
        for name in ("image", "role", "script", "other_role", "type", "split", "language"):
            assert getattr(built, name) == getattr(released, name), (released.id, name)
    # The same coverage seen from the dialogues: each type and both inter-role speakers appear.
    assert {s.type for s in in_release} == set(TYPES)
    assert any(s.type == "inter-role" and s.id.endswith("_0") for s in in_release)


def test_held_out_dialogues_still_share_opening_profiles_and_annotation(
    mmrole_data_root: Path,
    reference_sample_ids: list[str],
    reference_characters: dict[str, Character],
    released_in_test: list[Sample],
):
    """The 25 In-Test samples whose dialogues this release holds out: every part that does not
    come from the dialogue (opening, profiles, image annotation) is still rebuilt exactly."""
    built_dialogues = {_dialogue_id(i) for i in reference_sample_ids}
    held_out = [s for s in released_in_test if _dialogue_id(s.id) not in built_dialogues]
    assert len(held_out) == 25
    annotations = load_annotations(mmrole_data_root)
    for released in held_out:
        role = reference_characters[released.role]
        partner = reference_characters.get(released.other_role)
        annotation = annotations.get(released.image)
        aux = (annotation.role_info, annotation.place_info, annotation.scene_info) if annotation else None
        persona = Persona(role.name, role.series, role.summary)
        partner_persona = Persona(partner.name, partner.series, partner.summary) if partner else None
        built = build_instruction(persona, partner_persona, released.language, [("x", "y")], aux)
        fixed_parts = built.split(PART_SEPARATOR)[:-1]  # all but the final request
        released_parts = released.instruction.split(PART_SEPARATOR)
        assert released_parts[: len(fixed_parts)] == fixed_parts, released.id


def test_annotation_rule_matches_the_release(mmrole_data_root: Path, released_in_test: list[Sample]):
    """MMRole ends the place with a period even when it has one: the release shows '..'."""
    annotations = load_annotations(mmrole_data_root)
    dotted = [a for a in annotations.values() if a.place_info.endswith(".")]
    assert dotted
    for sample in released_in_test:
        annotation = annotations.get(sample.image)
        if annotation is not None and annotation.place_info.endswith("."):
            assert f"Place information: {annotation.place_info}.\n" in sample.instruction
