"""The system of record: one embedded DuckDB file, its schema and its migrations."""

from enseigne.db.connect import DatabaseLockedError, connect, load_extension
from enseigne.db.migrations import current_version, migrate

__all__ = ["DatabaseLockedError", "connect", "current_version", "load_extension", "migrate"]
