"""TEST-ONLY stand-in for torchvision.transforms (see ../_names.py)."""

from .._names import module_getattr

__getattr__ = module_getattr("transforms")
