"""mmrole's exceptions.

    MMRoleError
    ├── DataError        bad input data: names the file, the record and the field
    └── ConfigError      a bad option, model spec or missing credential
    (models.base.BackendError: a model call failed, retryable or not)

The CLI turns every MMRoleError into a one-line message and a non-zero exit,
never a traceback.
"""

from __future__ import annotations


class MMRoleError(Exception):
    """Base of mmrole's own errors."""


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
