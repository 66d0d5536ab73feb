"""TEST-ONLY stand-in for torchvision.transforms.functional (see ../_names.py)."""

from .._names import module_getattr

__getattr__ = module_getattr("transforms.functional")
