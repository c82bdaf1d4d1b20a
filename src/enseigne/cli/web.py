"""enseigne serve, users and tokens: the web application and its accounts."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from enseigne.cli.common import DbOption, app, console, errors, open_database, read_secret

# --- enseigne serve, users, tokens: the web application and its accounts (issue 3) ------

users_app = typer.Typer(help="Web users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (Bearer) for programs.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

RoleOption = Annotated[str, typer.Option("--role", help="admin, network, marketing, store or dpo")]
StoresOption = Annotated[
    list[str] | None,
    typer.Option("--store", help="A store code the account may see (repeat; role store only)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Run the web application (it holds the database file while it runs)."""
    import uvicorn

    from enseigne.web.app import create_app

    settings, con = open_database(db)
    console.print(f"enseigne : http://{host}:{port}/ (base {settings.db})")
    uvicorn.run(create_app(settings, con=con), host=host, port=port, log_level="info")


def _json_rows(rows: list[dict[str, object]]) -> str:
    from datetime import datetime

    def encode(value: object) -> str:
        return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)

    return json.dumps(rows, ensure_ascii=False, indent=2, default=encode) + "\n"


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="Login name")],
    role: RoleOption,
    store: StoresOption = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a web user (the password is asked for, or read with --password-stdin)."""
    from enseigne.web.users import UserError, create_user

    password = read_secret(password_stdin)
    _, con = open_database(db)
    try:
        create_user(con, name, password, role, store)
    except UserError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        con.close()
    console.print(f"Utilisateur {name} créé (rôle {role})")


@users_app.command("list")
def users_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The web users, their role and stores."""
    from enseigne.web.users import list_users

    _, con = open_database(db)
    rows = list_users(con)
    con.close()
    if as_json:
        sys.stdout.write(_json_rows(rows))
        return
    table = Table("Utilisateur", "Rôle", "Magasins", "Créé le", "Actif", title="Utilisateurs")
    for row in rows:
        table.add_row(row["name"], row["role"], ", ".join(row["stores"] or ["tous"]),
                      f"{row['created_at']:%d/%m/%Y}", "non" if row["disabled"] else "oui")
    console.print(table)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Login name")],
                  db: DbOption = None) -> None:
    """Disable a user and end their sessions."""
    from enseigne.web.users import UserError, disable_user

    _, con = open_database(db)
    try:
        disable_user(con, name)
    except UserError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        con.close()
    console.print(f"Utilisateur {name} désactivé")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. caisse-import")],
    role: Annotated[str, typer.Option(help="admin, network, marketing, store or dpo")] = "network",
    store: StoresOption = None,
    db: DbOption = None,
) -> None:
    """Create an API token and print it once (only its hash is kept)."""
    from enseigne.web.users import UserError, create_token

    _, con = open_database(db)
    try:
        token = create_token(con, name, role, store)
    except UserError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        con.close()
    sys.stdout.write(token + "\n")
    errors.print("Conservez ce jeton : il ne sera plus affiché (en-tête Authorization: Bearer).")


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="Token name")],
                  db: DbOption = None) -> None:
    """Revoke an API token: requests using it are refused from now on."""
    from enseigne.web.users import UserError, revoke_token

    _, con = open_database(db)
    try:
        revoke_token(con, name)
    except UserError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        con.close()
    console.print(f"Jeton {name} révoqué")


@tokens_app.command("list")
def tokens_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The API tokens (names, roles, last use; never the tokens themselves)."""
    from enseigne.web.users import list_tokens

    _, con = open_database(db)
    rows = list_tokens(con)
    con.close()
    if as_json:
        sys.stdout.write(_json_rows(rows))
        return
    table = Table("Jeton", "Rôle", "Magasins", "Créé le", "Dernier usage", title="Jetons d'API")
    for row in rows:
        used = row["last_used_at"]
        table.add_row(row["name"], row["role"], ", ".join(row["stores"] or ["tous"]),
                      f"{row['created_at']:%d/%m/%Y}", f"{used:%d/%m/%Y %H:%M}" if used else "")
    console.print(table)

# --- end of enseigne serve, users, tokens ----------------------------------------------
