"""What a chat draws on: the characters, images and image annotations of an MMRole-Data root.

Images named under the data root's ``images/`` must stay inside it once symbolic links are
followed (:mod:`mmrole.data.paths`): the web app serves what it lists, so a link pointing out of
the root is neither listed nor opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mmrole.data import load_annotations, load_characters, resolve_source
from mmrole.data.characters import file_stem
from mmrole.data.paths import check_within, is_within
from mmrole.errors import ConfigError, DataError
from mmrole.schema import Character, ImageAnnotation

__all__ = ["IMAGE_SUFFIXES", "ChatData"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


@dataclass
class ChatData:
    """The characters and images of a data root, and how to find them by the names users type.

    Attributes:
        root: The MMRole-Data root.
        characters: Every character, by name.
        annotations: Auxiliary information of annotated images, by path relative to ``images/``.
    """

    root: Path
    characters: dict[str, Character]
    annotations: dict[str, ImageAnnotation]

    @classmethod
    def open(cls, source: str | Path) -> ChatData:
        """Load a data root (``"demo"`` is the bundled demo set).

        Raises:
            DataError: The folder is missing or is not an MMRole-Data root, or a profile file is bad.
        """
        root = resolve_source(source).resolve()
        if not (root / "profiles").is_dir():
            raise DataError("not an MMRole-Data root (no profiles/ folder)", file=str(root))
        if (root / "images").exists():
            check_within(root / "images", root, what="image folder")
        characters = load_characters(root)
        if not characters:
            raise DataError("the data root lists no characters (profiles/*/roles.json)", file=str(root))
        return cls(root=root, characters=characters, annotations=load_annotations(root))

    @property
    def image_root(self) -> Path:
        """``<root>/images``: the folder MMRole image paths are relative to."""
        return self.root / "images"

    def character(self, name: str) -> Character:
        """A character by name: exact, then ignoring case, then its file-name form (``Mira_Vale``).

        Raises:
            ConfigError: No character has that name (the message lists a few that do).
        """
        if name in self.characters:
            return self.characters[name]
        wanted = name.strip().casefold()
        for candidate in self.characters.values():
            if wanted in (candidate.name.casefold(), file_stem(candidate.name).casefold()):
                return candidate
        known = sorted(self.characters)
        shown = ", ".join(known[:12]) + (f" ... ({len(known)} in all)" if len(known) > 12 else "")
        raise ConfigError(f"no character named {name!r} in {self.root}; try one of: {shown}")

    def resolve_image(self, image: str | Path) -> tuple[Path, ImageAnnotation | None]:
        """An image file and its annotation.

        ``image`` is a file path, or a path relative to the data root's ``images/`` folder
        (``The_Lantern_Isles/01.png``). Images under ``images/`` get their annotation from
        ``images/annotations.json``. A path under ``images/`` must stay inside it once links are
        followed; other paths (an upload, a file of the user's) are taken as given.

        Raises:
            UnsafePathError: A path under ``images/`` resolves outside it (a symbolic link).
            DataError: Neither form names an existing file.
        """
        given = Path(image).expanduser()
        candidates = [given] if given.is_absolute() else [given, self.image_root / given]
        for candidate in candidates:
            if candidate.is_file():
                if self._names_under_images(candidate):
                    check_within(candidate, self.image_root, what="image")
                path = candidate.resolve()
                return path, self.annotation_of(path)
        raise DataError(
            "image file not found (neither a path nor under the data root's images/)", file=str(image)
        )

    def _names_under_images(self, path: Path) -> bool:
        """True when ``path``, as written (links not followed), lies under ``images/``."""
        written = Path(os.path.abspath(path))
        return written.is_relative_to(os.path.abspath(self.image_root)) or written.is_relative_to(
            self.image_root.resolve()
        )

    def annotation_of(self, path: Path) -> ImageAnnotation | None:
        """The auxiliary information of an image under ``images/`` (None when not annotated)."""
        root = self.image_root.resolve()
        if not path.is_relative_to(root):
            return None
        annotation = self.annotations.get(path.relative_to(root).as_posix())
        return None if annotation is None or annotation.is_empty() else annotation

    def images(self, limit: int = 200) -> list[Path]:
        """Up to ``limit`` image files under ``images/``, in path order (for pickers and galleries).

        Links resolving outside ``images/`` are left out: the web app serves what this lists.
        """
        if not self.image_root.is_dir():
            return []
        found: list[Path] = []
        for path in sorted(self.image_root.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and is_within(path, self.image_root):
                found.append(path)
                if len(found) >= limit:
                    break
        return found

    def images_of(self, character: Character, limit: int = 200) -> list[Path]:
        """Up to ``limit`` images, those of the character's series folder first (MMRole files them by series)."""
        own = self.image_root / file_stem(character.series)
        images = sorted(self.images(limit=10_000), key=lambda path: not path.is_relative_to(own))
        return images[:limit]
