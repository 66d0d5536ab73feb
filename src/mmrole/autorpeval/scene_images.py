"""The images of multimodal AutoRPEval's scenes: found, checked before any call, and shown.

A chat's ``image`` is ``{"path": ..., "annotation": {...}}`` (:class:`mmrole.schema.Image`). In a
role file the path is relative to ``--images`` or, without it, to the role file's folder; the
scenario stage checks the file and writes its real, absolute path into the run's scenario files,
so the later stages find it wherever they run. Every stage that sends an image checks all of them
first: a missing or unreadable one is one line naming the role file, the role and the chat's
field, before any call.

The image travels as the MMRole judge's images do (:func:`mmrole.eval.judge_plan.image_parts`):
an ``image_url`` part naming the local file (backends read it when they send it; the engine's
cache key hashes its bytes), or with ``max_image_side`` the downscaled image's data URL
(:func:`mmrole.images.file_data_url`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrole.autorpeval.roles import Role
from mmrole.data.paths import UnsafePathError, resolve_under
from mmrole.errors import DataError
from mmrole.images import check_image_file, file_data_url

__all__ = ["check_images", "chat_image", "has_images", "image_parts", "resolve_images"]


def chat_image(chat: Mapping[str, Any]) -> Path | None:
    """The image file of a chat (a BeyondDialogue chat dict), or None for a text chat."""
    image = chat.get("image")
    if isinstance(image, Mapping) and isinstance(image.get("path"), str):
        return Path(image["path"])
    return None


def has_images(roles: Sequence[Role]) -> bool:
    """Whether any chat of ``roles`` is anchored in an image."""
    return any(scene.image is not None for role in roles for scene in role.scenes)


def _field(scene_partner: str) -> str:
    return f"chats.{scene_partner}.image"


def _check(path: Path, role: Role, partner: str) -> None:
    try:
        check_image_file(path)
    except DataError as err:
        raise DataError(
            f"image {path}: {err.reason}", file=role.source, record=role.name, field=_field(partner)
        ) from None


def _check_file(path: Path, shown: Path, role: Role, partner: str) -> None:
    """Raise when the chat image at ``path`` (named ``shown`` in the error) is missing or unusable."""
    if not path.is_file():
        raise DataError(
            f"image file not found: {shown}", file=role.source, record=role.name, field=_field(partner)
        )
    _check(path, role, partner)


def check_images(roles: Sequence[Role]) -> None:
    """Raise the first chat image that is missing or not a usable image (before any call).

    Raises:
        DataError: One line: the role file, the role, ``chats.PARTNER.image``, the image and why.
    """
    for role in roles:
        for scene in role.scenes:
            if scene.image is not None:
                _check(Path(scene.image.path), role, scene.partner)


def resolve_images(
    roles: Sequence[Role],
    images: str | Path | None = None,
    *,
    check: bool = True,
    absolute_ok: bool = False,
    on_missing: Callable[[DataError], None] | None = None,
) -> list[Role]:
    """The roles with each chat image's path made real and absolute, every image checked.

    Args:
        roles: Roles read from role files (``source`` set).
        images: The folder relative image paths are under; None: each role file's own folder.
        check: Check every image now (False: only resolve the paths; the stage that sends an image
            checks it before its first call).
        absolute_ok: Keep absolute paths as they are (what ``autorpeval export`` writes) rather
            than refuse them as leaving the folder.
        on_missing: ``--missing-image omit``: a chat whose image is missing or unusable loses its
            image (it runs as a text chat) and the error that would have been raised goes here. A
            path leaving the folder is raised all the same.

    Raises:
        DataError: An image is missing, unreadable or not an image; UnsafePathError (a DataError):
            its path leaves that folder.
    """
    done = []
    for role in roles:
        if not any(scene.image is not None for scene in role.scenes):
            done.append(role)
            continue
        root = Path(images) if images is not None else Path(role.source or ".").parent
        chats = {}
        for scene in role.scenes:
            chat = role.chat(scene.partner)
            if scene.image is not None:
                path = _resolved(root, scene.image.path, role, scene.partner, absolute_ok)
                try:
                    if check:
                        _check_file(path, root / scene.image.path, role, scene.partner)
                except DataError as err:
                    if on_missing is None:
                        raise
                    on_missing(err)
                    del chat["image"]
                else:
                    chat["image"] = {**chat["image"], "path": str(path)}
            chats[scene.partner] = chat
        done.append(role.with_chats(chats))
    return done


def _resolved(root: Path, text: str, role: Role, partner: str, absolute_ok: bool) -> Path:
    if absolute_ok and Path(text).is_absolute():
        return Path(text)
    where: dict[str, Any] = {"file": role.source, "record": role.name, "field": _field(partner)}
    try:
        return resolve_under(root, text, root_name=f"image folder {root}", **where)
    except UnsafePathError as err:
        raise UnsafePathError(f"{err.reason}; give --images the folder it is in", **where) from None


def image_parts(path: Path | None, max_side: int | None = None) -> list[dict[str, Any]]:
    """A checked image as OpenAI ``image_url`` parts ([] for None)."""
    if path is None:
        return []
    url = str(path) if max_side is None else file_data_url(path, max_side, field="image")
    return [{"type": "image_url", "image_url": {"url": url}}]
