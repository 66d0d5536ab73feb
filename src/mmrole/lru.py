"""A thread-safe LRU cache bounded by the total size of its values (e.g. encoded images).

``functools.lru_cache`` bounds the number of entries, which says nothing about memory when the
entries are images of any size; this one evicts the least recently used values once their sizes
add up to more than ``max_bytes``, and never keeps a value larger than that on its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


def _length(value: Any) -> int:
    """``len`` typed for any value (values of the default size are Sized, e.g. bytes or str)."""
    return len(value)


class SizedLRU(Generic[V]):
    """An LRU of values bounded by their total size: ``get_or_make(key, make)``.

    Args:
        max_bytes: The most the values may hold together, by ``size``.
        size: A value's size in bytes (default: ``len``).
    """

    def __init__(self, max_bytes: int, size: Callable[[V], int] = _length):
        self.max_bytes = max_bytes
        self._size = size
        self._values: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.made = 0  # values made (a miss each): tests and benchmarks read it

    def get_or_make(self, key: Hashable, make: Callable[[], V], nbytes: int | None = None) -> V:
        """The value of ``key``; ``make()`` it when absent.

        Args:
            key: What identifies the value.
            make: Makes the value on a miss.
            nbytes: What the entry costs, when that is not the value's ``size`` (e.g. a large key).
        """
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
                return found[0]
        value = make()  # outside the lock: encoding an image may take a while
        size = self._size(value) if nbytes is None else nbytes
        with self._lock:
            self.made += 1
            found = self._values.get(key)
            if found is not None:  # made meanwhile by another thread: share that one
                return found[0]
            if size > self.max_bytes:
                return value
            self._values[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._values.popitem(last=False)
                self._bytes -= dropped
        return value

    def get(self, key: Hashable) -> V | None:
        """The value of ``key`` when held (it becomes the most recent), else None; nothing is made."""
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return None
            self._values.move_to_end(key)
            return found[0]

    @property
    def nbytes(self) -> int:
        """The total size of the values held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0
