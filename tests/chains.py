"""Small crafted chains for KPI tests, loaded the way users load theirs: CSV files through
the product's import."""

from __future__ import annotations

from pathlib import Path

from enseigne.db import connect, migrate
from enseigne.ingest import import_file


def build_chain(path: Path, files: dict[str, str]) -> Path:
    """A database file loaded from canonical CSV texts ({kind: text}, in order), closed.

    Fails if the import rejects a row: crafted data must load whole.
    """
    con = connect(path)
    migrate(con)
    try:
        for kind, text in files.items():
            source = path.parent / f"{kind}.csv"
            source.write_text(text, encoding="utf-8")
            summary = import_file(con, kind, source)
            assert summary.rejected == 0, con.execute("SELECT * FROM quarantine").fetchall()
    finally:
        con.close()
    return path
