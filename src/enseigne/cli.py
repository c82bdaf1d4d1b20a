"""The ``enseigne`` command line: thin commands over the domain packages."""

from __future__ import annotations

import csv
import datetime as dt
import json
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from enseigne.db import DatabaseLockedError, connect, migrate
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


def _connect(db: Path | None) -> tuple[Settings, duckdb.DuckDBPyConnection]:
    settings = load_settings(db=db)
    try:
        con = connect(settings.db, memory_limit=settings.memory_limit, threads=settings.threads)
    except DatabaseLockedError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(3) from exc
    return settings, con


def _open(db: Path | None) -> tuple[Settings, duckdb.DuckDBPyConnection]:
    """The database, its schema brought up to date first."""
    settings, con = _connect(db)
    migrate(con)
    return settings, con


@app.command()
def init(db: DbOption = None) -> None:
    """Create the database file, or upgrade its schema to this version."""
    settings, con = _connect(db)
    applied = migrate(con)
    con.close()
    if applied:
        names = ", ".join(f"{m.version} ({m.name})" for m in applied)
        console.print(f"{settings.db}: migrations appliquées : {names}")
    else:
        console.print(f"{settings.db}: schéma à jour")


@app.command()
def status(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Row counts per entity and the latest imports."""
    _, con = _open(db)
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


ENTITY_LABELS = {
    "stores": "Magasins", "sellers": "Vendeurs", "products": "Articles", "customers": "Clients",
    "consents": "Consentements", "tickets": "Tickets", "ticket_lines": "Lignes de tickets",
    "footfall": "Fréquentation", "targets": "Objectifs",
    "survey_responses": "Réponses aux enquêtes", "feedback": "Réclamations et avis",
    "quarantine": "Quarantaine (lignes rejetées)",
}






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
    _, con = _open(db)
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

    settings, con = _open(db)
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


KPI_COLUMNS = ("scope", "kpi", "value", "n1", "target", "achievement", "rank", "rank_region")


@app.command()
def kpi(
    date_from: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD")],
    db: DbOption = None,
    grain: Annotated[
        str, typer.Option(help="network, region, store, seller or channel")
    ] = "network",
    kpis: Annotated[
        str | None, typer.Option(help="KPI ids, comma-separated (default: all)")
    ] = None,
    compare: Annotated[str, typer.Option(help="Comparisons: n-1,target")] = "",
    like_for_like: Annotated[
        bool, typer.Option("--like-for-like", help="Only stores open on every day of both periods")
    ] = False,
    n1_mode: Annotated[
        str, typer.Option("--n1", help="N-1 alignment: weekday (364 days) or calendar")
    ] = "weekday",
    output: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    engine: Annotated[str, typer.Option(help="duckdb or spark")] = "duckdb",
    lake: Annotated[
        Path | None, typer.Option(help="Parquet lake directory (--engine spark)")
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option(help="Spark master URL (default: local mode)")
    ] = None,
) -> None:
    """KPIs of a period by network, region, store, seller or channel (docs/kpis.md)."""
    from enseigne.metrics import GRAINS, PeriodError, UnknownKpiError, compute_kpis
    from enseigne.metrics.periods import period_from_range

    settings = load_settings(db=db)
    try:
        period = period_from_range(
            _day(date_from, "--from"), _day(date_to, "--to"), settings.fiscal_start_month
        )
        ids = [k.strip() for k in kpis.split(",") if k.strip()] if kpis else None
        comparisons = [c.strip() for c in compare.split(",") if c.strip()]
        _check_choice(grain, GRAINS, "--grain")
        _check_choice(output, ("table", "csv", "json"), "--format")
        _check_choice(engine, ("duckdb", "spark"), "--engine")
        backend, close = _kpi_backend(engine, db, lake, spark_master)
        try:
            rows = compute_kpis(
                backend, ids, grain, period, comparisons,
                like_for_like=like_for_like, n1_mode=n1_mode,
            )
        finally:
            close()
    except (PeriodError, UnknownKpiError, ValueError, RuntimeError) as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_kpis(rows, output, period.label, comparisons)


def _day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{option} : date invalide {text!r} (attendu AAAA-MM-JJ)") from exc


def _check_choice(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise ValueError(f"{option} : {value!r} inconnu ({', '.join(choices)})")


def _kpi_backend(
    engine: str, db: Path | None, lake: Path | None, master: str | None
) -> tuple[object, Callable[[], None]]:
    """The Ibis backend the KPIs run on, and how to release it."""
    if engine == "spark":
        from enseigne.metrics.backends import spark_backend, stop_spark

        if lake is None:
            raise ValueError("--engine spark demande --lake DIR (voir enseigne lake export)")
        backend = spark_backend(lake, master)
        return backend, stop_spark
    from enseigne.metrics import duckdb_backend

    _, con = _open(db)
    return duckdb_backend(con), con.close


def _print_kpis(rows: list[dict], output: str, label: str, compare: list[str]) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    elif output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=KPI_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        console.print(_kpi_rich_table(rows, label, compare))


def _kpi_rich_table(rows: list[dict], label: str, compare: list[str]) -> Table:
    from enseigne.metrics import KPIS
    from enseigne.web.formats import delta, kpi_value, percent

    table = Table("Périmètre", "Indicateur", title=f"Indicateurs {label}")
    figures = ["Valeur"]
    if "n-1" in compare:
        figures += ["N-1", "Évol."]
    if "target" in compare:
        figures += ["Objectif", "Atteinte"]
    for name in [*figures, "Rang"]:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        k = KPIS[row["kpi"]]
        cells = [row["scope"], k.label_fr, kpi_value(row["value"], k.unit)]
        if "n-1" in compare:
            change = k.change(row["value"], row["n1"])
            colour = {"good": "green", "bad": "red"}.get(k.verdict(change) or "", "default")
            cells += [kpi_value(row["n1"], k.unit),
                      f"[{colour}]{delta(change, kind=k.change_kind)}[/{colour}]"]
        if "target" in compare:
            cells += [kpi_value(row["target"], k.unit), percent(row["achievement"])]
        cells.append("" if row["rank"] is None else str(row["rank"]))
        table.add_row(*cells)
    return table

# --- enseigne lake: the Parquet lake for Spark (issue 3) --------------------------------

lake_app = typer.Typer(help="The Parquet lake: the canonical tables for Spark.",
                       no_args_is_help=True)
app.add_typer(lake_app, name="lake")


@lake_app.command("export")
def lake_export(
    directory: Annotated[
        Path, typer.Argument(help="Lake directory: created, or replaced if it holds a lake")
    ],
    db: DbOption = None,
) -> None:
    """Write every canonical table as Parquet under DIRECTORY (receipts and lines by month)."""
    from enseigne.lake import LakeError, check_target, export_lake, lake_size

    settings = load_settings(db=db)
    if not settings.db.is_file():
        errors.print(f"[red]{settings.db}: base introuvable (créez-la avec `enseigne init`)[/red]")
        raise typer.Exit(2)
    try:
        check_target(directory)
    except LakeError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _, con = _open(db)
    try:
        with new_progress() as progress:
            task = progress.add_task("Export du lac Parquet", total=1.0, rate="")

            def report(table: str, done: float) -> None:
                progress.update(task, completed=done, rate=ENTITY_LABELS.get(table, ""))

            counts = export_lake(con, directory, progress=report)
    except LakeError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        con.close()
    rows = Table("Table", "Entité", title=f"Lac Parquet {directory}")
    rows.add_column("Lignes", justify="right")
    for table, count in counts.items():
        rows.add_row(table, ENTITY_LABELS[table], fr_int(count))
    console.print(rows)
    megabytes = f"{lake_size(directory) / 1e6:.1f}".replace(".", ",")
    console.print(
        f"{directory} : {len(counts)} tables, {fr_int(sum(counts.values()))} lignes, "
        f"{megabytes} Mo"
    )

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

    settings, con = _open(db)
    console.print(f"enseigne : http://{host}:{port}/ (base {settings.db})")
    uvicorn.run(create_app(settings, con=con), host=host, port=port, log_level="info")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    return str(typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True))


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

    password = _read_password(password_stdin)
    _, con = _open(db)
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

    _, con = _open(db)
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

    _, con = _open(db)
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

    _, con = _open(db)
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

    _, con = _open(db)
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

    _, con = _open(db)
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
