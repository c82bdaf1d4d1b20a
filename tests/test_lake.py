"""The Parquet lake: what export_lake writes, that it replaces a lake safely, what Spark reads."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dtypes
import pytest

from enseigne.db import connect, migrate
from enseigne.demo import build_demo
from enseigne.lake import (
    LAKE_TABLES,
    MANIFEST,
    PARTITIONED,
    LakeError,
    export_lake,
    read_manifest,
)
from enseigne.metrics.backends import duckdb_backend, spark_backend, spark_schema

TODAY = dt.date(2026, 3, 31)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    con = connect(path)
    build_demo(con, stores=6, customers=2000, years=2, seed=7, today=TODAY)
    con.close()
    return path


@pytest.fixture(scope="module")
def source(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(demo_db, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def lake(source: duckdb.DuckDBPyConnection, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lakes") / "lake"
    export_lake(source, directory)
    return directory


def count(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return con.execute(sql).fetchone()[0]


def parquet(lake: Path, table: str) -> str:
    """DuckDB's reader over one lake table, partitions included."""
    return f"read_parquet('{lake / table}/**/*.parquet', hive_partitioning = true)"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_every_table_is_exported_with_all_its_rows(source, lake):
    expected = {t: count(source, f"SELECT count(*) FROM {t}") for t in LAKE_TABLES}
    assert all(expected.values()), "the demo chain fills every table"
    assert {t: count(source, f"SELECT count(*) FROM {parquet(lake, t)}")
            for t in LAKE_TABLES} == expected
    manifest = read_manifest(lake)
    assert {t: m["rows"] for t, m in manifest["tables"].items()} == expected
    assert manifest["schema_version"] == count(source, "SELECT max(version) FROM schema_migrations")
    assert dt.datetime.fromisoformat(manifest["exported_at"]).tzinfo is not None


def test_receipts_and_their_lines_are_partitioned_by_the_receipt_month(source, lake):
    months = {r[0] for r in source.execute(
        "SELECT DISTINCT strftime(sold_at, '%Y-%m') FROM tickets").fetchall()}
    assert len(months) >= 24
    for table in ("tickets", "ticket_lines"):
        folders = {p.name for p in (lake / table).iterdir()}
        assert folders == {f"month={m}" for m in months}
    misplaced = count(source, f"""
        SELECT count(*) FROM {parquet(lake, "ticket_lines")} l
        JOIN tickets t USING (ticket_id)
        WHERE l.month <> strftime(t.sold_at, '%Y-%m')""")
    assert misplaced == 0
    assert [p.name for p in (lake / "stores").iterdir()] == ["data_0.parquet"]


def test_types_are_kept_exactly(source, lake):
    for table in LAKE_TABLES:
        canonical = source.execute(f"DESCRIBE {table}").fetchall()
        columns = "* EXCLUDE (month)" if table in PARTITIONED else "*"
        written = source.execute(
            f"DESCRIBE SELECT {columns} FROM {parquet(lake, table)}").fetchall()
        assert [r[:2] for r in written] == [r[:2] for r in canonical], table
    types = dict(r[:2] for r in source.execute(
        f"DESCRIBE SELECT * FROM {parquet(lake, 'tickets')}").fetchall())
    assert types["sold_at"] == "TIMESTAMP"  # not TIMESTAMP WITH TIME ZONE
    assert types["amount"] == "DECIMAL(18,2)"
    assert count(source, f"SELECT sum(amount) FROM {parquet(lake, 'tickets')}") == count(
        source, "SELECT sum(amount) FROM tickets")


def test_the_manifest_declares_every_column_in_a_type_spark_knows(source, lake):
    tables = read_manifest(lake)["tables"]
    for table in LAKE_TABLES:
        described = [list(r[:2]) for r in source.execute(f"DESCRIBE {table}").fetchall()]
        assert tables[table]["columns"] == described
        assert spark_schema(tables[table]["columns"]) is not None, table
    assert "`sold_at` TIMESTAMP_NTZ" in spark_schema(tables["tickets"]["columns"])
    assert "`amount` DECIMAL(18,2)" in spark_schema(tables["tickets"]["columns"])
    assert spark_schema([["x", "UNION(a INTEGER)"]]) is None  # left to Spark to infer


def test_an_interrupted_export_leaves_the_previous_lake_intact(demo_db, tmp_path):
    directory = tmp_path / "lake"
    con = connect(shutil.copy(demo_db, tmp_path / "own.duckdb"))
    try:
        export_lake(con, directory)
        before = snapshot(directory)
        con.execute("DELETE FROM ticket_lines WHERE line_no > 1")

        def interrupt(table: str, _done: float) -> None:
            if table == "footfall":  # after receipts and lines are written
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            export_lake(con, directory, progress=interrupt)
        assert snapshot(directory) == before
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["lake"], (
            "no staging left")

        counts = export_lake(con, directory)
    finally:
        con.close()
    assert read_manifest(directory)["tables"]["ticket_lines"]["rows"] == counts["ticket_lines"]
    assert counts["ticket_lines"] < json.loads(before[MANIFEST])["tables"]["ticket_lines"]["rows"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["lake"], (
        "the old lake is gone")


def test_a_receipt_stored_twice_stops_the_export_instead_of_doubling_lines(demo_db, tmp_path):
    con = connect(shutil.copy(demo_db, tmp_path / "own.duckdb"))
    try:
        con.execute("INSERT INTO tickets SELECT * FROM tickets LIMIT 1")
        with pytest.raises(LakeError, match="ticket_lines"):
            export_lake(con, tmp_path / "lake")
    finally:
        con.close()
    assert not (tmp_path / "lake").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["own.duckdb"]


def test_a_directory_that_is_not_a_lake_is_never_replaced(source, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(LakeError, match="refusing"):
        export_lake(source, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(LakeError, match="not a complete lake"):
        read_manifest(tmp_path)
    with pytest.raises(LakeError, match="not a complete lake"):
        spark_backend(tmp_path)  # refused before any Spark starts


def test_an_empty_database_gives_a_lake_with_every_schema(tmp_path):
    con = connect(tmp_path / "empty.duckdb")
    migrate(con)
    try:
        assert export_lake(con, tmp_path / "lake") == dict.fromkeys(LAKE_TABLES, 0)
        # Partitioned tables without rows still carry their columns in one file.
        columns = con.execute(
            f"DESCRIBE SELECT * FROM {parquet(tmp_path / 'lake', 'ticket_lines')}").fetchall()
        assert [r[0] for r in columns] == [
            r[0] for r in con.execute("DESCRIBE ticket_lines").fetchall()]
    finally:
        con.close()


def test_cli_exports_with_a_french_summary(cli, demo_db, tmp_path):
    # The module's read-only connection holds the demo file: the CLI gets its own copy.
    demo_db = shutil.copy(demo_db, tmp_path / "demo.duckdb")
    done = cli("lake", "export", tmp_path / "lake", "--db", demo_db)
    assert done.returncode == 0, done.stderr
    assert f"{len(LAKE_TABLES)} tables" in done.stdout and " Mo" in done.stdout
    assert "Lignes de tickets" in done.stdout
    assert read_manifest(tmp_path / "lake")["tables"]["tickets"]["rows"] > 1000
    refused = cli("lake", "export", tmp_path, "--db", demo_db)
    assert refused.returncode == 2
    assert "refusing" in refused.stderr
    missing = cli("lake", "export", tmp_path / "other", "--db", tmp_path / "none.duckdb")
    assert missing.returncode == 2
    assert "introuvable" in missing.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_docs_cover_every_lake_command():
    from enseigne.cli import lake_app

    text = (Path(__file__).parents[1] / "docs" / "scale-out.md").read_text(encoding="utf-8")
    assert lake_app.registered_commands
    for command in lake_app.registered_commands:
        assert f"enseigne lake {command.name} " in text
    assert "--engine spark --lake" in text


def test_without_pyspark_the_spark_engine_says_how_to_install_it(lake):
    # A Python where importing pyspark fails, as without the optional extra.
    script = (
        "import sys; sys.modules['pyspark'] = None\n"
        "from enseigne.metrics.backends import SparkUnavailableError, spark_backend\n"
        f"try:\n    spark_backend({str(lake)!r})\n"
        "except SparkUnavailableError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "pip install 'enseigne[spark]'" in done.stdout


# --- the same expressions on Spark -------------------------------------------------------


@pytest.fixture(scope="module")
def engines(spark, source, lake) -> dict[str, Any]:
    return {"duckdb": duckdb_backend(source), "spark": spark_backend(lake)}


def on_both(engines: dict[str, Any], build: Callable[[Any], ibis.Expr]) -> list[Any]:
    return [backend.execute(build(backend)) for backend in engines.values()]


def comparable(schema: ibis.Schema) -> list[tuple[str, dtypes.DataType]]:
    """Names and types; Parquet columns read as nullable, Spark timestamps carry no scale."""
    def plain(dtype: dtypes.DataType) -> dtypes.DataType:
        if dtype.is_timestamp():
            return dtypes.Timestamp(timezone=dtype.timezone)
        return dtype.copy(nullable=True)

    return [(name, plain(dtype)) for name, dtype in schema.items()]


@pytest.mark.spark
def test_spark_reads_every_table_with_duckdb_columns_and_rows(engines):
    duck, spark = engines["duckdb"], engines["spark"]
    for table in LAKE_TABLES:
        assert comparable(spark.table(table).schema()) == comparable(
            duck.table(table).schema()), table
        assert spark.execute(spark.table(table).count()) == duck.execute(
            duck.table(table).count()), table


@pytest.mark.spark
def test_spark_sees_the_same_decimals_timestamps_and_dates(engines):
    def receipts(backend):
        t = backend.table("tickets")
        return t.aggregate(revenue=t.amount.sum(), units=t.units.sum(),
                           first=t.sold_at.min(), last=t.sold_at.max(),
                           evening=(t.sold_at.hour() >= 18).sum())

    def lines(backend):
        t = backend.table("ticket_lines")
        return t.aggregate(amount=t.amount.sum(), vat=t.vat_rate.sum(), qty=t.quantity.sum())

    def days(backend):
        f, s = backend.table("footfall"), backend.table("stores")
        return f.aggregate(days=f.date.nunique(), first=f.date.min(), visitors=f.visitors.sum(),
                           ).cross_join(s.aggregate(opened=s.opened_on.min(),
                                                    surface=s.surface_m2.sum()))

    for build in (receipts, lines, days):
        duck, spark = on_both(engines, build)
        assert duck.to_dict("records") == spark.to_dict("records"), build.__name__
    duck, _ = on_both(engines, receipts)
    assert isinstance(duck["revenue"][0], Decimal) and duck["revenue"][0] > 0


@pytest.mark.spark
def test_spark_reads_wall_clock_timestamps_whatever_its_time_zone(spark, lake, source):
    from pyspark.sql.types import TimestampNTZType

    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "Pacific/Auckland")
    frame = session.read.parquet(str(lake / "tickets"))
    assert isinstance(frame.schema["sold_at"].dataType, TimestampNTZType)
    first = frame.selectExpr("CAST(min(sold_at) AS STRING) AS s").first()["s"]
    assert first == count(source, "SELECT CAST(min(sold_at) AS VARCHAR) FROM tickets")
    hours = {r["h"]: r["n"] for r in frame.selectExpr("hour(sold_at) AS h").groupBy("h")
             .count().withColumnRenamed("count", "n").collect()}
    assert hours == dict(source.execute(
        "SELECT hour(sold_at), count(*) FROM tickets GROUP BY 1").fetchall())


@pytest.mark.spark
def test_spark_reads_the_lake_of_an_empty_database(spark, tmp_path):
    con = connect(tmp_path / "empty.duckdb")
    migrate(con)
    export_lake(con, tmp_path / "lake")
    duck = duckdb_backend(con)
    backend = spark_backend(tmp_path / "lake")
    for table in ("tickets", "ticket_lines", "stores"):
        assert comparable(backend.table(table).schema()) == comparable(
            duck.table(table).schema())
        assert backend.execute(backend.table(table).count()) == 0
    con.close()


@pytest.mark.spark
def test_two_lakes_open_side_by_side(spark, source, lake, tmp_path):
    other = tmp_path / "other"
    con = connect(tmp_path / "small.duckdb")
    build_demo(con, stores=1, customers=50, years=1, seed=1, today=TODAY)
    export_lake(con, other)
    small = con.execute("SELECT count(*) FROM tickets").fetchone()[0]
    con.close()
    first, second = spark_backend(lake), spark_backend(other)
    assert second.execute(second.table("tickets").count()) == small
    assert first.execute(first.table("tickets").count()) == count(
        source, "SELECT count(*) FROM tickets")
