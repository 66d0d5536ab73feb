"""mmrole's exceptions.

    MMRoleError
    ├── DataError        bad input data: names the file, the record and the field
    ├── ConfigError      a bad option, model spec or missing credential
    └── StorageError     a file that cannot be written: a full disk, no permission
    (models.base.BackendError: a model call failed, retryable or not)

The CLI turns every MMRoleError into a one-line message and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path


class MMRoleError(Exception):
    """Base of mmrole's own errors.

    ``exit_code`` is the CLI's exit status for it: 2 (bad input or options) unless a subclass
    says otherwise (``mmrole.engine.failures``: 1 for too many failures, 3 for a dead endpoint).
    """

    exit_code: int = 2


class DataError(MMRoleError):
    """Bad input data, located as precisely as possible."""

    def __init__(
        self, message: str, *, file: str | None = None, record: str | None = None, field: str | None = None
    ):
        self.file, self.record, self.field, self.reason = file, record, field, message
        where = ", ".join(
            part
            for part in (file, f"record {record}" if record else None, f"field {field!r}" if field else None)
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(MMRoleError):
    """A bad option, model spec or missing credential."""


class StorageError(MMRoleError):
    """A file mmrole writes (a run file, the store) cannot be written: a full disk, no permission.

    Attributes:
        file: The file being written.
    """

    def __init__(self, message: str, *, file: str | Path):
        self.file = str(file)
        super().__init__(message)

    @classmethod
    def writing(cls, file: str | Path, err: OSError) -> StorageError:
        """The error of an OSError raised while writing ``file``, said plainly."""
        if err.errno == errno.ENOSPC:
            return cls(f"no space left on device writing {file}", file=file)
        return cls(f"cannot write {file}: {err.strerror or err}", file=file)
