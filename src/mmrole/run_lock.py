"""One process at a time in a folder: an ``flock`` on a lock file that holds the holder's pid.

The kernel drops an ``flock`` when its process dies, however it dies (``kill -9`` included),
so a dead process never keeps a folder held and there is no stale lock to clean up: the
file may stay behind with a dead pid in it, and the next process simply takes the lock.
Within one process the lock is re-entrant (``mmrole eval`` answers, then judges, then
reports, holding the folder throughout).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from mmrole.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, folders are not locked
    fcntl = None  # type: ignore[assignment]

#: Folders this process holds: real path -> [file descriptor, depth].
_HELD: dict[str, list[int]] = {}


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


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _key(folder: Path) -> str:
    return os.path.realpath(folder)
