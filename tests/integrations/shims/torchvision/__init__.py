"""TEST-ONLY stand-in for torchvision (see _names.py): names only, nothing works."""

from ._names import module_getattr

__version__ = "0.0.0+test-shim"
__getattr__ = module_getattr("")
