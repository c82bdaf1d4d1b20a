"""Commands over the database: init, status, import, demo."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.table import Table

from enseigne.cli.common import (
    ENTITY_LABELS,
    DbOption,
    app,
    connect_database,
    console,
    errors,
    open_database,
    read_secret,
)
from enseigne.db import migrate
from enseigne.db.status import database_status
from enseigne.ingest import (
    KINDS,
    ImportSummary,
    Mapping,
    MappingError,
    StrictRefusal,
    UnusableFileError,
    import_file,
    load_mapping,
)
from enseigne.ingest.progress import fr_int, new_progress


@app.command()
def init(db: DbOption = None) -> None:
    """Create the database file, or upgrade its schema to this version."""
    settings, con = connect_database(db)
    applied = migrate(con)
    con.close()
    if applied:
        names = ", ".join(f"{m.version} ({m.name})" for m in applied)
        console.print(f"{settings.db}: migrations appliquées : {names}")
    else:
        console.print(f"{settings.db}: schéma à jour")


MIN_KEY_LENGTH = 16


@app.command()
def encrypt(
    key_stdin: Annotated[
        bool, typer.Option("--key-stdin", help="Read the new key from standard input")
    ] = False,
    decrypt: Annotated[
        bool, typer.Option("--decrypt", help="Rewrite the file unencrypted instead")
    ] = False,
    db: DbOption = None,
) -> None:
    """Encrypt the database file at rest with a new key, change its key, or decrypt it.

    Opens the file as configured (ENSEIGNE_DB_KEY if it is encrypted), rewrites it; then
    set ENSEIGNE_DB_KEY to the new key (unset it after --decrypt)."""
    from enseigne.privacy.gdpr import rewrite_file

    key = None if decrypt else read_secret(key_stdin, "Nouvelle clé de la base")
    if key is not None and len(key) < MIN_KEY_LENGTH:
        errors.print(f"[red]Clé trop courte : au moins {MIN_KEY_LENGTH} caractères[/red]")
        raise typer.Exit(2)
    settings, con = open_database(db)
    rewrite_file(con, key, decrypt=decrypt)
    if key:
        console.print(f"{settings.db} est chiffrée : ENSEIGNE_DB_KEY doit désormais contenir "
                      "la nouvelle clé (gardez-la en lieu sûr, sans elle la base est illisible).")
    else:
        console.print(f"{settings.db} n'est plus chiffrée : retirez ENSEIGNE_DB_KEY.")


@app.command()
def status(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Row counts per entity and the latest imports."""
    _, con = open_database(db)
    report = database_status(con)
    con.close()
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        return
    counts = Table("Entité", "Lignes", "Fiches incomplètes", title="Contenu de la base")
    for name, count in report["counts"].items():
        stubs = report["incomplete"].get(name)
        counts.add_row(ENTITY_LABELS[name], fr_int(count), fr_int(stubs) if stubs else "")
    console.print(counts)
    if report["imports"]:
        imports = Table("N°", "Type", "Fichier", "Fin", "Lues", "Chargées", "Doublons",
                        "Rejetées", "s", title="Derniers imports")
        for item in report["imports"]:
            imports.add_row(
                str(item["import_id"]), item["kind"], Path(item["file"]).name,
                item["finished_at"], fr_int(item["rows_read"]), fr_int(item["rows_loaded"]),
                fr_int(item["duplicates"]), fr_int(item["rejected"]), f"{item['seconds']:.1f}",
            )
        console.print(imports)








@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}")],
    files: Annotated[list[Path], typer.Argument(help="CSV, XLSX, Parquet or JSON-lines files")],
    db: DbOption = None,
    mapping: Annotated[
        str | None, typer.Option(help="Mapping profile: a TOML file or a shipped profile name")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Write rejected rows (file, line, column, value, reason)")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Load nothing from a file with a bad row")] = False,
    create_missing: Annotated[
        bool, typer.Option(help="Create unknown stores instead of rejecting their rows")
    ] = False,
) -> None:
    """Import files of one KIND into the database (idempotent, one transaction per file)."""
    if kind not in KINDS:
        errors.print(f"[red]unknown kind {kind!r}: expected one of {', '.join(KINDS)}[/red]")
        raise typer.Exit(2)
    try:
        profile = load_mapping(mapping)
    except MappingError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if rejects is not None:
        rejects.unlink(missing_ok=True)
    _, con = open_database(db)
    code = 0
    for path in files:
        try:
            summary = _import_one(con, kind, path, profile, rejects, strict, create_missing)
        except UnusableFileError as exc:
            errors.print(f"[red]{exc}[/red] (nothing loaded)")
            code = 2
            continue
        except StrictRefusal as exc:
            errors.print(f"[red]{exc}[/red]")
            _print_summary(exc.summary)
            code = max(code, 1)
            continue
        _print_summary(summary)
    con.close()
    raise typer.Exit(code)


def _import_one(
    con: duckdb.DuckDBPyConnection, kind: str, path: Path, profile: Mapping,
    rejects: Path | None, strict: bool, create_missing: bool,
) -> ImportSummary:
    options = {"mapping": profile, "rejects": rejects, "strict": strict,
               "create_missing": create_missing}
    # Files that take more than a few seconds get a progress bar.
    if not (path.is_file() and path.stat().st_size > 50_000_000):
        return import_file(con, kind, path, **options)
    with new_progress() as progress:
        return import_file(con, kind, path, progress=progress, **options)


def _print_summary(summary: ImportSummary) -> None:
    rate = summary.rows_read / summary.seconds if summary.seconds else 0
    stubs = ", ".join(f"{n} {table}" for table, n in summary.stubs.items()) or "aucune"
    console.print(
        f"[bold]{Path(summary.file).name}[/bold] ({summary.kind}) : "
        f"{fr_int(summary.rows_read)} lues, {fr_int(summary.rows_loaded)} chargées, "
        f"{fr_int(summary.duplicates)} doublons, {fr_int(summary.rejected)} rejetées, "
        f"fiches incomplètes créées : {stubs} — {summary.seconds:.1f} s "
        f"({fr_int(rate)} lignes/s)"
    )


@app.command()
def demo(
    db: DbOption = None,
    stores: Annotated[int, typer.Option(help="Number of stores")] = 40,
    customers: Annotated[int, typer.Option(help="Number of customers")] = 60_000,
    years: Annotated[int, typer.Option(help="Years of history")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same chain)")] = 42,
    export_csv: Annotated[
        Path | None, typer.Option(help="Also write the chain as French POS-style CSV files")
    ] = None,
) -> None:
    """Build a realistic demo chain into the database (replaces its content)."""
    from enseigne.demo import build_demo
    from enseigne.demo import export_csv as write_csv

    settings, con = open_database(db)
    with new_progress() as progress:
        task = progress.add_task("Enseigne de démonstration", total=1.0, rate="")

        def report(step: str, done: float) -> None:
            progress.update(task, completed=done, rate=step)

        counts = build_demo(
            con, stores=stores, customers=customers, years=years, seed=seed, progress=report
        )
    console.print(
        f"{settings.db}: {fr_int(counts.get('ticket_lines', 0))} lignes de tickets, "
        f"{fr_int(counts.get('customers', 0))} clients, "
        f"{fr_int(counts.get('stores', 0))} magasins"
    )
    if export_csv is not None:
        written = write_csv(con, export_csv)
        console.print(f"{len(written)} fichiers écrits dans {export_csv}")
    logins = _demo_logins(con)
    con.close()
    console.print("Connexion de démonstration (identifiant / mot de passe) :")
    for name, password, what in logins:
        console.print(f"  [bold]{name}[/bold] / [bold]{password}[/bold]  ({what})")


# Demo users: a network director and the manager of the first store. Their passwords are
# drawn at each build (no password lives in the code) and printed once.
DEMO_USERS = (("directrice", "network", None, "réseau"), ("magasin", "store", ["S001"], "S001"))


def _demo_logins(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    from enseigne.web.users import create_user, get_user, set_password

    logins = []
    for name, role, stores, what in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        if get_user(con, name) is None:
            create_user(con, name, password, role, stores)
        else:
            set_password(con, name, password)
        logins.append((name, password, what))
    return logins

