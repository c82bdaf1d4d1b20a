"""The system of record: one embedded DuckDB file, its schema and its migrations."""

from enseigne.db.connect import (
    DatabaseKeyError,
    DatabaseLockedError,
    connect,
    connect_configured,
    load_extension,
)
from enseigne.db.migrations import current_version, migrate

__all__ = [
    "DatabaseKeyError", "DatabaseLockedError", "connect", "connect_configured", "current_version",
    "load_extension", "migrate",
]
