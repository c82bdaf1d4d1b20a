"""enseigne kpi and enseigne lake: figures, and the Parquet lake for Spark."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from enseigne.cli.common import ENTITY_LABELS, DbOption, app, console, errors, open_database
from enseigne.ingest.progress import fr_int, new_progress
from enseigne.settings import load_settings

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

    _, con = open_database(db)
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
    _, con = open_database(db)
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
