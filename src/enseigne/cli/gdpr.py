"""enseigne gdpr: right of access, right to erasure, retention."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from enseigne.cli.common import DbOption, app, console, errors, open_database
from enseigne.ingest.progress import fr_int

# --- enseigne gdpr: right of access, right to erasure, retention (issue 4) --------------

gdpr_app = typer.Typer(help="GDPR rights: access export, erasure, retention.",
                       no_args_is_help=True)
app.add_typer(gdpr_app, name="gdpr")
CustomerArgument = Annotated[str, typer.Argument(help="The customer's reference")]
RETENTION_SHOWN = 50
CONFIRMATIONS = ("o", "oui", "y", "yes")


def _gdpr_actor() -> str:
    """The OS account that runs the command: the audit log names it."""
    import getpass

    return getpass.getuser()


@gdpr_app.command("export")
def gdpr_export(
    customer_ref: CustomerArgument,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON to FILE")] = None,
    db: DbOption = None,
) -> None:
    """Every piece of data held on a customer, as JSON (right of access)."""
    from enseigne.privacy.gate import AccessDenied, cli_reader
    from enseigne.privacy.gdpr import export_person

    _, con = open_database(db)
    try:
        data = export_person(con, cli_reader(_gdpr_actor()), customer_ref)
    except AccessDenied as exc:
        errors.print(f"[red]{customer_ref} : client introuvable[/red]")
        raise typer.Exit(2) from exc
    finally:
        con.close()
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    errors.print(f"Export de {customer_ref} écrit dans {out} "
                 "(il contient des données personnelles)")


@gdpr_app.command("erase")
def gdpr_erase(
    customer_ref: CustomerArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    db: DbOption = None,
) -> None:
    """Erase a customer: identity, contact data and free text removed from the file;
    tickets stay under an anonymous key (right to erasure). Prints that key."""
    from enseigne.privacy.gate import AccessDenied, cli_reader
    from enseigne.privacy.gdpr import erase_person, rewrite_file

    if not yes:
        if not sys.stdin.isatty():
            errors.print("[red]Effacement refusé : confirmez avec --yes (pas de terminal)[/red]")
            raise typer.Exit(2)
        answer = typer.prompt(f"Effacer définitivement les données personnelles de "
                              f"{customer_ref} ? [o/N]", default="n", show_default=False,
                              err=True)
        if answer.strip().lower() not in CONFIRMATIONS:
            errors.print("Effacement annulé")
            raise typer.Exit(1)
    settings, con = open_database(db)
    try:
        key = erase_person(con, cli_reader(_gdpr_actor()), customer_ref)
    except AccessDenied as exc:
        con.close()
        errors.print(f"[red]{customer_ref} : client introuvable[/red]")
        raise typer.Exit(2) from exc
    rewrite_file(con, settings.db_key_value())
    errors.print(f"{customer_ref} effacé ; ses tickets restent sous la clé anonyme :")
    sys.stdout.write(key + "\n")


@gdpr_app.command("retention")
def gdpr_retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the customers only, change nothing")
    ] = False,
    db: DbOption = None,
) -> None:
    """Anonymise the customers without contact for more than ENSEIGNE_RETENTION_YEARS."""
    from enseigne.privacy.gate import cli_reader
    from enseigne.privacy.gdpr import apply_retention, retention_candidates, rewrite_file

    settings, con = open_database(db)
    today, years = dt.date.today(), settings.retention_years
    rows = retention_candidates(con, today, years)
    _print_retention(rows, years)
    if dry_run or not rows:
        con.close()
        if dry_run:
            console.print("Simulation : aucune modification.")
        return
    keys = apply_retention(con, cli_reader(_gdpr_actor()), today, years)
    rewrite_file(con, settings.db_key_value())
    console.print(f"{fr_int(len(keys))} client(s) anonymisé(s).")


def _print_retention(rows: list[dict], years: int) -> None:
    def day(value: str | None) -> str:
        return dt.datetime.fromisoformat(value).strftime("%d/%m/%Y") if value else ""

    if rows:
        table = Table("Client", "Dernier contact", "Dernier achat", "Inscrit le",
                      title="Clients au-delà de la durée de conservation")
        for row in rows[:RETENTION_SHOWN]:
            table.add_row(row["customer_ref"], day(row["last_contact"]),
                          day(row["last_purchase"]), day(row["created_at"]))
        console.print(table)
        if len(rows) > RETENTION_SHOWN:
            console.print(f"… et {fr_int(len(rows) - RETENTION_SHOWN)} autres")
    console.print(f"{fr_int(len(rows))} client(s) sans contact depuis plus de {years} ans.")

# --- end of enseigne gdpr ---------------------------------------------------------------
