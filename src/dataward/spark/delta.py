"""Delta tables for the Spark engine: through the session's Delta Lake when it has one, else through delta-rs.

A folder holding a ``_delta_log/`` is a Delta table. A session with Delta Lake on its classpath
(``delta-spark``'s jars: Databricks, EMR, or ``spark.jars``) reads it with ``format("delta")``. Without them,
the ``deltalake`` package (delta-rs, in ``dataward[spark]``) reads the table's log on the driver: the current
snapshot's schema, partition columns and data files, which Spark then reads as Parquet with that schema
(``basePath`` for partition values in the files' ``column=value`` folders). That is exactly the snapshot
when the table's readers need nothing more than Parquet; a table that needs more is refused in one sentence
rather than read wrongly: column mapping (the files' column names are not the table's), deletion vectors in
use (the files hold deleted rows), or any other reader feature delta-rs names that this reader does not know.

Copies are written as Delta tables with ``?format=delta`` on the destination (``file:///dir?format=delta``):
by the session's Delta Lake when it has one, else Spark writes each table's Parquet files and delta-rs
commits them as version 0 of a new table (``convert_to_deltalake``).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from dataward.errors import DatawardError, TargetError
from dataward.spark.compile import col
from dataward.tables.base import file_path
from dataward.targets import Target

DELTA_LAKE_TIP = (
    "add Delta Lake for your Spark version: --spark-conf spark.jars.packages=io.delta:delta-spark_2.13:VERSION "
    "(downloaded from Maven), or --spark-conf spark.jars=/path/delta-spark_2.13-VERSION.jar,"
    "/path/delta-storage-VERSION.jar where Maven is unreachable; Databricks and EMR have it already"
)
DELTA_TIP = "pip install deltalake (part of 'dataward[spark]'), or " + DELTA_LAKE_TIP
# Reader features whose tables read correctly as their snapshot's Parquet files with the table's schema
PLAIN_READER_FEATURES = frozenset({"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck", "deletionVectors"})


@dataclass(frozen=True)
class Snapshot:
    """What Spark needs to read one version of a Delta table as Parquet."""

    version: int
    schema: T.StructType
    partition_columns: tuple[str, ...]
    files: tuple[str, ...]  # Hadoop paths of the data files


def delta_missing(url: str, table: str) -> DatawardError:
    return DatawardError(
        f"{table} in {url} is a Delta table and this Spark session has no Delta Lake to read it", tip=DELTA_TIP
    )


def deltalake_installed() -> bool:
    return importlib.util.find_spec("deltalake") is not None


def has_delta(spark: SparkSession) -> bool:
    """Whether the session resolves the ``delta`` data source (delta-spark's jars on its classpath)."""
    from py4j.protocol import Py4JJavaError

    jvm: Any = spark._jvm
    try:
        jvm.org.apache.spark.sql.execution.datasources.DataSource.lookupDataSource(
            "delta", spark._jsparkSession.sessionState().conf()
        )
    except Py4JJavaError:
        return False
    return True


def read_delta(spark: SparkSession, url: str, table_path: str, name: str) -> DataFrame:
    """The Delta table at ``table_path`` (a Hadoop path), named ``name`` in the folder ``url``."""
    if has_delta(spark):
        return spark.read.format("delta").load(table_path)
    if not deltalake_installed():
        raise delta_missing(url, name)
    snapshot = delta_snapshot(table_path, f"{name} in {url}")
    if not snapshot.files:
        return spark.createDataFrame([], snapshot.schema)
    reader = spark.read.schema(snapshot.schema)
    if snapshot.partition_columns:
        reader = reader.option("basePath", table_path)
    # partition columns come last from a folder read: put every column back in the table's order
    return reader.parquet(*snapshot.files).select(*[col(f.name) for f in snapshot.schema.fields])


def delta_snapshot(table_path: str, what: str) -> Snapshot:
    """The current snapshot of a Delta table through delta-rs, or one sentence on why it cannot be read so."""
    from deltalake import DeltaTable

    try:
        table = DeltaTable(_rust_uri(table_path))
    except Exception as exc:  # delta-rs raises its own errors and OSError alike for a bad log
        raise TargetError(f"{what} is a Delta table whose log cannot be read: {_first_line(exc)}") from None
    _refuse_unplain(table, what)
    partitions = tuple(table.metadata().partition_columns)
    files = tuple(_hadoop_path(uri, table_path) for uri in table.file_uris())
    if partitions:
        _check_hive_paths(files, partitions, what)
    schema = T.StructType.fromJson(json.loads(table.schema().to_json()))
    return Snapshot(table.version(), schema, partitions, files)


def _refuse_unplain(table: Any, what: str) -> None:
    """Refuse a table whose Parquet files alone do not give its rows (column mapping, deletion vectors...)."""
    protocol = table.protocol()
    mode = table.metadata().configuration.get("delta.columnMapping.mode") or "none"
    if protocol.min_reader_version == 2 or mode != "none":
        raise TargetError(
            f"{what} is a Delta table with column mapping ({mode}), which needs Delta Lake in the Spark session",
            tip=DELTA_LAKE_TIP,
        )
    unknown = sorted(set(protocol.reader_features or ()) - PLAIN_READER_FEATURES)
    if unknown:
        raise TargetError(
            f"{what} is a Delta table whose readers must support {', '.join(unknown)}, which needs Delta Lake "
            "in the Spark session",
            tip=DELTA_LAKE_TIP,
        )
    if "deletionVectors" in (protocol.reader_features or ()) and _has_deletion_vectors(table):
        raise TargetError(
            f"{what} is a Delta table with deleted rows kept in deletion vectors, which needs Delta Lake in the "
            "Spark session",
            tip="purge them first (REORG TABLE ... APPLY (PURGE)), or " + DELTA_LAKE_TIP,
        )


def _has_deletion_vectors(table: Any) -> bool:
    return any(batch.num_rows for batch in table.deletion_vectors())


def _check_hive_paths(files: tuple[str, ...], partitions: tuple[str, ...], what: str) -> None:
    """Spark takes partition values from ``column=value`` folders: every file must sit in them, in order."""
    for path in files:
        folders = path.split("/")[-1 - len(partitions) : -1]
        if [f.split("=", 1)[0] for f in folders] != list(partitions):
            raise TargetError(
                f"{what} is a Delta table whose files are not in column=value folders of its partition columns "
                f"({', '.join(partitions)}), which needs Delta Lake in the Spark session",
                tip=DELTA_LAKE_TIP,
            )


def _rust_uri(table_path: str) -> str:
    """A Hadoop path as delta-rs opens it: a local path for ``file:``, the URL for object stores."""
    if table_path.startswith("file:"):
        return table_path.removeprefix("file:").removeprefix("//")
    return table_path


def _hadoop_path(uri: str, table_path: str) -> str:
    """A data file as delta-rs names it (a plain local path, or ``s3://``), as Spark reads it next to the table."""
    if uri.startswith("/"):
        return "file:" + uri
    if uri.startswith("s3://") and table_path.startswith("s3a://"):
        return "s3a://" + uri.removeprefix("s3://")
    return uri


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


# --- writing -----------------------------------------------------------------------------------------------


def check_delta_writable(spark: SparkSession, url: str) -> None:
    """A copy into Delta tables needs Delta Lake in the session or delta-rs on the driver: else one sentence."""
    if not has_delta(spark) and not deltalake_installed():
        raise DatawardError(f"writing Delta tables into {url} needs Delta Lake, and neither is here", tip=DELTA_TIP)


def write_delta(spark: SparkSession, df: DataFrame, table_path: str) -> None:
    """``df`` as a new Delta table: by the session's Delta Lake, else as Parquet committed by delta-rs."""
    if has_delta(spark):
        df.write.format("delta").mode("errorifexists").save(table_path)
        return
    from deltalake import convert_to_deltalake

    previous = spark.conf.get("spark.sql.parquet.outputTimestampType") or "INT96"
    # INT96 (Spark's default) has no Delta type: microseconds are what Delta writers write
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    try:
        df.write.mode("errorifexists").parquet(table_path)
    finally:
        spark.conf.set("spark.sql.parquet.outputTimestampType", previous)
    convert_to_deltalake(_rust_uri(table_path))


# --- before the JVM starts --------------------------------------------------------------------------------


def check_delta_before_start(source: Target, master: str, conf: Mapping[str, str]) -> None:
    """Refuse a local folder's Delta table before a JVM starts, when the JVM could not read it.

    With delta-rs installed, each table's log is read now (a bad log or a table that needs Delta Lake is one
    sentence). Without it, only when nothing could bring Delta Lake in: no running session, a ``local``
    master, and no mention of delta in the given conf, ``PYSPARK_SUBMIT_ARGS``, ``spark-defaults.conf`` or
    the jars Spark ships with. Any doubt leaves the question to the session, which refuses with the same
    sentence.
    """
    if source.scheme != "file" or not master.startswith("local"):
        return
    root = file_path(source)
    tables = sorted(p.parent for p in root.glob("[!._]*/_delta_log") if p.is_dir()) if root.is_dir() else []
    if not tables or _delta_may_be_on_classpath(conf):
        return
    url = root.resolve().as_uri()
    if not deltalake_installed():
        raise delta_missing(url, tables[0].name)
    for table in tables:
        delta_snapshot(str(table.resolve()), f"{table.name} in {url}")


def _delta_may_be_on_classpath(conf: Mapping[str, str]) -> bool:
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        return True
    texts = [*conf.values(), os.environ.get("PYSPARK_SUBMIT_ARGS", "")]
    homes = [Path(p) for p in (os.environ.get("SPARK_HOME"), _pyspark_home()) if p]
    conf_dirs = [Path(os.environ["SPARK_CONF_DIR"])] if os.environ.get("SPARK_CONF_DIR") else []
    for defaults in [d / "spark-defaults.conf" for d in conf_dirs + [h / "conf" for h in homes]]:
        if defaults.is_file():
            texts.append(defaults.read_text(errors="replace"))
    if any("delta" in text.lower() for text in texts):
        return True
    return any(any(h.glob("jars/*delta*.jar")) for h in homes)


def _pyspark_home() -> str | None:
    spec = importlib.util.find_spec("pyspark")
    return str(Path(spec.origin).parent) if spec is not None and spec.origin else None
