"""One process at a time in a folder: an ``flock`` on a lock file that holds the holder's pid.

The kernel drops an ``flock`` when its process dies, however it dies (``kill -9`` included),
so a dead process never keeps a folder held and there is no stale lock to clean up: the
file may stay behind with a dead pid in it, and the next process simply takes the lock.
Within one process the lock is re-entrant (``mmrole eval`` answers, then judges, then
reports, holding the folder throughout).

While this process holds a folder no other process writes its run.json, so what this process
last read or wrote there is what the file holds: :func:`remember_info` keeps it for the hold, and
the readers of :class:`mmrole.runs.RunFolder` read the file once per hold instead of once per check.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from mmrole.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, folders are not locked
    fcntl = None  # type: ignore[assignment]

#: Folders this process holds: real path -> [file descriptor, depth].
_HELD: dict[str, list[int]] = {}
#: run.json of the folders this process holds, as last read or written (dropped with the hold).
_INFO: dict[str, dict[str, Any]] = {}


class FolderLock:
    """Hold ``folder`` for this process while the ``with`` block runs.

    Raises:
        ConfigError: Another live process holds it: "run folder RUN in use by pid N".
    """

    def __init__(self, folder: Path, lock_file: Path):
        self.folder, self.lock_file = folder, lock_file

    def __enter__(self) -> FolderLock:
        key = _key(self.folder)
        if key in _HELD:
            _HELD[key][1] += 1
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pid = _read_pid(fd)
                os.close(fd)
                who = f"pid {pid}" if pid else "another process"
                raise ConfigError(f"run folder {self.folder} in use by {who}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD[key] = [fd, 1]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        key = _key(self.folder)
        held = _HELD[key]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[key]
            _INFO.pop(key, None)
            os.close(held[0])  # releases the flock; the pid stays in the file, harmless once unlocked


def holder_pid(folder: Path, lock_file: Path) -> int | None:
    """The pid of the live process holding ``folder`` (this one included), or None."""
    if _key(folder) in _HELD:
        return os.getpid()
    if fcntl is None or not lock_file.exists():
        return None
    fd = os.open(lock_file, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _read_pid(fd) or None
    else:
        return None  # nobody holds it: whatever pid the file names is gone
    finally:
        os.close(fd)  # also releases the shared lock taken to test it


def remember_info(folder: Path, info: dict[str, Any]) -> None:
    """Keep ``info`` as ``folder``'s run.json while this process holds the folder (no-op otherwise)."""
    key = _key(folder)
    if key in _HELD:
        _INFO[key] = copy.deepcopy(info)


def remembered_info(folder: Path) -> dict[str, Any] | None:
    """``folder``'s run.json as this process last read or wrote it during its hold; None when not held
    (another process may write it then) or not known yet."""
    key = _key(folder)
    if key not in _HELD or key not in _INFO:
        return None
    return copy.deepcopy(_INFO[key])  # a copy: callers edit what they get, then write it


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _key(folder: Path) -> str:
    return os.path.realpath(folder)
