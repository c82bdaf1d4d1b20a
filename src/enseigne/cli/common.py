"""The command line's application object and what every command shares."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console

from enseigne.db import DatabaseKeyError, DatabaseLockedError, connect_configured, migrate
from enseigne.settings import Settings, load_settings

app = typer.Typer(
    help="enseigne: customer file, store KPIs and GDPR-correct CRM for retail chains.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB database file [env ENSEIGNE_DB; default ./enseigne.duckdb]"),
]


def connect_database(db: Path | None) -> tuple[Settings, duckdb.DuckDBPyConnection]:
    settings = load_settings(db=db)
    try:
        con = connect_configured(settings)
    except DatabaseLockedError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(3) from exc
    except DatabaseKeyError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    return settings, con


def read_secret(from_stdin: bool, prompt: str = "Mot de passe") -> str:
    """A password or key from standard input (scripts) or typed twice, hidden."""
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))


def open_database(db: Path | None) -> tuple[Settings, duckdb.DuckDBPyConnection]:
    """The database, its schema brought up to date first."""
    settings, con = connect_database(db)
    migrate(con)
    return settings, con


ENTITY_LABELS = {
    "stores": "Magasins", "sellers": "Vendeurs", "products": "Articles", "customers": "Clients",
    "consents": "Consentements", "tickets": "Tickets", "ticket_lines": "Lignes de tickets",
    "footfall": "Fréquentation", "targets": "Objectifs",
    "survey_responses": "Réponses aux enquêtes", "feedback": "Réclamations et avis",
    "quarantine": "Quarantaine (lignes rejetées)",
    "customer_stores": "Clients par magasin (dérivé)",
    "customer_sales": "Ventes des clients et leurs achats précédents (dérivé)",
    "consent_spans": "Périodes d'opt-in en vigueur (dérivé)",
}
