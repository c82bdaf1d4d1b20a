"""The engines the KPI expressions run on: DuckDB (default) and Spark over a Parquet lake."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis
from ibis.backends.duckdb import Backend as DuckDBBackend

from enseigne.lake import PARTITION_COLUMN, read_manifest

if TYPE_CHECKING:
    from ibis.backends.pyspark import Backend as PySparkBackend
    from pyspark.sql import SparkSession


def duckdb_backend(con: duckdb.DuckDBPyConnection) -> DuckDBBackend:
    """An Ibis backend over an open DuckDB connection (the canonical tables)."""
    return ibis.duckdb.from_connection(con)


# --- Spark over a Parquet lake (optional extra ``spark``) -------------------------------

SPARK_MASTER = "local[2]"
SPARK_CONF = {
    "spark.app.name": "enseigne",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # A lake of one chain is small next to Spark's default of 200 shuffle partitions.
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "2g",
    # The lake's timestamps carry no zone: read them as TIMESTAMP_NTZ (wall clock as
    # written), as DuckDB does, even where a cluster's defaults say otherwise.
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}
SPARK_LOG_LEVEL = "ERROR"
# Spark's default logging prints a banner and warnings on stderr at every start; a command
# line tool shows errors only. (Spark takes pyspark's default level from the gateway's
# logger: without it, Spark announces at start that it lowered the level to WARN.)
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""


class SparkUnavailableError(RuntimeError):
    """PySpark (the optional extra ``enseigne[spark]``) is not installed."""


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
        from ibis.backends import pyspark as _ibis_pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailableError(
            "the Spark engine needs PySpark and Java 17: pip install 'enseigne[spark]'"
        ) from exc


def _quiet_logging_option() -> str:
    """A JVM option pointing log4j2 at an errors-only configuration (no startup chatter)."""
    path = Path(tempfile.gettempdir()) / "enseigne-spark-log4j2.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != _LOG4J2:
        # Written aside then renamed: another process may be starting Spark right now.
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(_LOG4J2, encoding="utf-8")
        partial.replace(path)
    return f"-Dlog4j2.configurationFile={path.as_uri()}"


def spark_session(master: str | None = None) -> SparkSession:
    """The process's Spark session, started on first use (local[2] unless ``master`` says).

    Spark has one context per process: when a session is already running, it is returned
    as is and ``master`` is ignored.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    master = master or SPARK_MASTER
    if master.startswith("local"):
        # The driver binds to loopback: no hostname lookup, no port opened to the network.
        # (Not for a cluster: its executors must reach the driver.)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master)
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    builder = builder.config("spark.driver.extraJavaOptions", _quiet_logging_option())
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(SPARK_LOG_LEVEL)
    return session


def spark_backend(lake_dir: Path | str, master: str | None = None) -> PySparkBackend:
    """An Ibis backend on Spark where every lake table has its canonical name.

    ``backend.table("tickets")`` then has the same columns and types as on DuckDB (the
    Hive partition column ``month`` is dropped; Parquet columns all read as nullable).
    Each backend gets its own Spark session over the shared context, so two lakes can be
    open side by side.
    """
    manifest = read_manifest(lake_dir)
    session = spark_session(master).newSession()
    root = Path(lake_dir).resolve()
    for table, entry in manifest["tables"].items():
        reader = session.read
        # A declared schema spares Spark a job per table to infer it from the files
        # (seconds at start) and pins the types the export wrote.
        schema = spark_schema(entry.get("columns", []))
        if schema is not None:
            reader = reader.schema(schema)
        frame = reader.parquet(str(root / table))
        if PARTITION_COLUMN in entry.get("partitioned_by", []):
            frame = frame.drop(PARTITION_COLUMN)
        frame.createOrReplaceTempView(table)
    _compile_bit_or()
    return ibis.pyspark.connect(session)


def _compile_bit_or() -> None:
    """Spark SQL has had ``bit_or`` since 3.0, but Ibis 12 compiles it for Databricks only;
    the customer measures aggregate their window flags with it."""
    from ibis.backends.sql.compilers.databricks import DatabricksCompiler
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    PySparkCompiler.visit_BitOr = DatabricksCompiler.visit_BitOr


# DuckDB type -> Spark SQL type, for the types of the canonical model.
SPARK_TYPES = {
    "VARCHAR": "STRING", "BOOLEAN": "BOOLEAN", "TINYINT": "TINYINT", "SMALLINT": "SMALLINT",
    "INTEGER": "INT", "BIGINT": "BIGINT", "FLOAT": "FLOAT", "DOUBLE": "DOUBLE",
    "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
}
_DECIMAL = re.compile(r"DECIMAL\(\d+,\s*\d+\)")


def spark_schema(columns: list[list[str]]) -> str | None:
    """The Spark DDL schema of a lake table's columns; None (infer it) if a type is unknown."""
    fields = []
    for name, duckdb_type in columns:
        spark_type = SPARK_TYPES.get(duckdb_type)
        if spark_type is None and _DECIMAL.fullmatch(duckdb_type):
            spark_type = duckdb_type
        if spark_type is None:
            return None
        quoted = name.replace("`", "``")
        fields.append(f"`{quoted}` {spark_type}")
    return ", ".join(fields) or None


def stop_spark() -> None:
    """Stop the process's Spark context (every session over it); a no-op if none runs."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        return
    # pyspark offers no public "is a context running?"; getOrCreate would start one.
    if SparkContext._active_spark_context is not None:
        SparkSession.builder.getOrCreate().stop()
