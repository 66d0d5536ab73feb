"""mmrole: build, align, evaluate and talk to multimodal role-playing agents.

Importing the package is cheap: heavy stacks (torch, transformers, trl, gradio)
load only when a backend or trainer that needs them is used.
"""

from __future__ import annotations

from mmrole.schema import (
    CURIOUS_HUMAN,
    DIMENSIONS,
    METRICS,
    Character,
    Dialogue,
    Image,
    ImageAnnotation,
    Profile,
    Review,
    Sample,
    Turn,
)

__version__ = "0.1.0"

__all__ = [
    "CURIOUS_HUMAN",
    "DIMENSIONS",
    "METRICS",
    "Character",
    "Dialogue",
    "Image",
    "ImageAnnotation",
    "Profile",
    "Review",
    "Sample",
    "Turn",
    "__version__",
]
