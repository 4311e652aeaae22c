"""Where the Spark engine reads tables and writes copies: lake folders and JDBC databases.

Sources: a folder (``file:///dir``, ``s3a://bucket/dir``) whose Parquet files, Parquet folders
(``users/part-*.parquet``, as Spark writes them) and Delta tables (a folder with ``_delta_log``, see
``delta.py``) are its tables; ``postgresql://`` and ``mysql://`` or ``mariadb://`` read through JDBC, split on
an integer ``id`` column into parallel partitions. JDBC drivers come from the machine (Debian's
``libpostgresql-jdbc-java``, ``libmariadb-java``) or from the user's ``spark.jars``: nothing is downloaded.

Destinations: a folder (``file://`` or ``s3a://``) with one Parquet folder per table (a Delta table each
with ``?format=delta``) and ``_dataward_manifest.json``. Tables are written under a sibling staging folder that replaces the destination
by renames once every table and the manifest are written; any failure deletes it. (On S3 a rename is a copy,
so readers should trust a copy only when its manifest is there.)
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from dataward.errors import DatawardError, TargetError
from dataward.manifest import MANIFEST_FILE, MANIFEST_TABLE, Manifest
from dataward.spark.delta import check_delta_writable, read_delta, write_delta
from dataward.tables import open_tables
from dataward.tables.base import file_path, quote_ident
from dataward.targets import Target, parse_target

LAKE_SCHEMES = ("file", "s3a")
JDBC_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
JDBC_JARS = {
    "postgresql": ("/usr/share/java/postgresql.jar", "libpostgresql-jdbc-java"),
    "mysql": ("/usr/share/java/mariadb-java-client.jar", "libmariadb-java"),
}
_DRIVERS = {"postgresql": "org.postgresql.Driver", "mysql": "org.mariadb.jdbc.Driver"}


def driver_jars(source: Target, conf: dict[str, str]) -> list[str]:
    """The JDBC driver jar a source needs, from this machine; [] for folders or when the user gave jars."""
    dialect = JDBC_SCHEMES.get(source.scheme)
    if dialect is None or "spark.jars" in conf or "spark.jars.packages" in conf:
        return []
    jar, package = JDBC_JARS[dialect]
    if not Path(jar).exists():
        raise DatawardError(
            f"reading {source.scheme}:// with Spark needs the {dialect} JDBC driver, and {jar} is missing",
            tip=f"apt-get install {package}, or pass --spark-conf spark.jars=/path/to/driver.jar",
        )
    return [jar]


def lake_url(target: Target) -> str:
    """The folder as Spark and Hadoop name it: an absolute ``file:`` URI, or the ``s3a://`` URL itself."""
    if target.scheme == "file":
        return file_path(target).resolve().as_uri()
    if target.scheme == "s3a":
        return target.url.split("?", 1)[0]  # ?format=delta is dataward's, not a part of the path
    raise TargetError(
        f"the Spark engine reads and writes folders as file:///dir or s3a://bucket/dir, not {target.scheme}://"
    )


def read_source(spark: SparkSession, source: Target, partitions: int = 8) -> dict[str, DataFrame]:
    """Every table of the source as a lazy DataFrame, in a stable order (copy manifests excluded)."""
    if source.scheme in JDBC_SCHEMES:
        return read_jdbc(spark, source, partitions)
    if source.scheme in LAKE_SCHEMES:
        return read_folder(spark, lake_url(source))
    raise TargetError(
        f"the Spark engine cannot read {source.scheme}:// sources",
        tip="read file:///dir or s3a://bucket/dir (Parquet or Delta), postgresql:// or mysql://; "
        "or use --engine local",
    )


# --- folders ----------------------------------------------------------------------------------------------


class _Hadoop:
    """The Hadoop FileSystem of one folder, through the session's JVM (local disks and S3 alike)."""

    def __init__(self, spark: SparkSession, url: str) -> None:
        jvm: Any = spark._jvm
        self._path_cls = jvm.org.apache.hadoop.fs.Path
        self.root = self._path_cls(url)
        self.fs = self.root.getFileSystem(spark._jsc.hadoopConfiguration())

    def path(self, *parts: str) -> Any:
        out = self.root
        for part in parts:
            out = self._path_cls(out, part)
        return out

    def sibling(self, name: str) -> Any:
        return self._path_cls(self.root.getParent(), name)

    def children(self, where: Any = None) -> list[tuple[str, bool]]:
        return [(s.getPath().getName(), bool(s.isDirectory())) for s in self.fs.listStatus(where or self.root)]


def read_folder(spark: SparkSession, url: str) -> dict[str, DataFrame]:
    """Each Parquet file, Parquet folder or Delta folder directly under ``url`` is a table (named by its stem)."""
    fs = _Hadoop(spark, url)
    if not fs.fs.exists(fs.root):
        raise TargetError(f"{url} does not exist")
    tables: dict[str, DataFrame] = {}
    for name, is_dir in sorted(fs.children()):
        if name.startswith((".", "_")):
            continue
        child = str(fs.path(name))
        if is_dir and fs.fs.exists(fs.path(name, "_delta_log")):
            tables[name] = read_delta(spark, url, child, name)
        elif is_dir or name.endswith(".parquet"):
            tables[name.removesuffix(".parquet")] = spark.read.parquet(child)
    return tables


# --- JDBC -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JdbcSource:
    url: str
    properties: dict[str, str]
    quote: str


def jdbc_source(source: Target) -> JdbcSource:
    dialect = JDBC_SCHEMES[source.scheme]
    port = source.port or (5432 if dialect == "postgresql" else 3306)
    url = f"jdbc:{dialect}://{source.host or 'localhost'}:{port}/{source.database or ''}"
    # preferTimestampNTZ: a timestamp without a zone (PostgreSQL timestamp, MySQL DATETIME) stays one, as
    # the local engine reads it, instead of being shifted through the JVM's zone
    props = {"driver": _DRIVERS[dialect], "fetchsize": "10000", "preferTimestampNTZ": "true"}
    if source.username:
        props["user"] = source.username
    if source.password:
        props["password"] = source.password  # Spark redacts it (spark.redaction.regex matches 'password')
    if dialect == "mysql":
        # jdbc:mysql:// so that Spark picks its MySQL dialect (backquoted names in the partition predicates);
        # MariaDB Connector/J 3 accepts that scheme only with permitMysqlScheme (2.x always does)
        url += "?permitMysqlScheme"
    elif "sslmode" in source.params:
        props["sslmode"] = source.params["sslmode"]
    return JdbcSource(url, props, '"' if dialect == "postgresql" else "`")


def read_jdbc(spark: SparkSession, source: Target, partitions: int) -> dict[str, DataFrame]:
    """Each table through JDBC; a table with an integer ``id`` is read in ``partitions`` ranges of it."""
    jdbc = jdbc_source(source)
    tables: dict[str, DataFrame] = {}
    with open_tables(source) as store:
        for table in store.list_tables():
            if table == MANIFEST_TABLE:
                continue
            bounds = _id_bounds(store, table, jdbc.quote)
            name = quote_ident(table, jdbc.quote)
            try:
                if bounds is None:
                    tables[table] = spark.read.jdbc(jdbc.url, name, properties=jdbc.properties)
                else:
                    tables[table] = spark.read.jdbc(
                        jdbc.url, name, column="id", lowerBound=bounds[0], upperBound=bounds[1] + 1,
                        numPartitions=partitions, properties=jdbc.properties,
                    )  # fmt: skip
            except Exception as exc:  # py4j: a session started without the driver's jar
                if "ClassNotFoundException" in str(exc) and jdbc.properties["driver"] in str(exc):
                    raise _driver_not_loaded(source, jdbc.properties["driver"]) from None
                raise
    return tables


def _driver_not_loaded(source: Target, driver: str) -> DatawardError:
    jar, package = JDBC_JARS[JDBC_SCHEMES[source.scheme]]
    return DatawardError(
        f"this Spark session cannot load the JDBC driver {driver}: its jar must be in spark.jars when the "
        "session starts",
        tip=f"start it with --spark-conf spark.jars={jar} (apt-get install {package}), or spark-submit --jars {jar}",
    )


def _id_bounds(store: Any, table: str, quote: str) -> tuple[int, int] | None:
    field = next((f for f in store.schema(table) if f.name == "id"), None)
    if field is None or not str(field.type).startswith(("int", "uint")):
        return None
    ident, column = quote_ident(table, quote), quote_ident("id", quote)
    lo, hi = store.execute(f"SELECT min({column}), max({column}) FROM {ident}")[0]  # noqa: S608 - quoted
    return None if lo is None else (int(lo), int(hi))


# --- the destination --------------------------------------------------------------------------------------


class LakeWriter:
    """Stage every table and the manifest next to the destination folder, then swap it in (or delete it)."""

    def __init__(self, spark: SparkSession, dest: Target) -> None:
        self.spark = spark
        self.dest = dest
        self.url = lake_url(dest)
        self.delta = dest.params.get("format") == "delta"
        self.fs = _Hadoop(spark, self.url)
        self._check_destination()
        if self.delta:
            check_delta_writable(spark, self.url)
        self.run_id = secrets.token_hex(4)
        self.stage = self.fs.sibling(f".{self.fs.root.getName()}.dw-stage-{self.run_id}")
        if dest.scheme == "file":
            Path(str(self.stage.toUri().getPath())).mkdir(mode=0o700)  # readable by its owner only

    def _check_destination(self) -> None:
        fs, root = self.fs.fs, self.fs.root
        if not fs.exists(root.getParent()):
            raise TargetError(f"the folder of {self.url} does not exist")
        if not fs.exists(root):
            return
        if not fs.getFileStatus(root).isDirectory():
            raise TargetError(f"{self.url} exists and is not a directory")
        if self.fs.children() and not fs.exists(self.fs.path(MANIFEST_FILE)):
            raise DatawardError(
                f"{self.url} holds files that are not a dataward copy; refusing to replace them",
                tip="copy into an empty or new directory",
            )

    def table_url(self, table: str) -> str:
        return str(self.fs._path_cls(self.stage, table))

    def write(self, table: str, df: DataFrame) -> int:
        """Write one table as a Parquet folder (or a Delta table); its row count, read back from the footers."""
        if self.delta:
            write_delta(self.spark, df, self.table_url(table))
        else:
            df.write.mode("errorifexists").parquet(self.table_url(table))
        return self.spark.read.parquet(self.table_url(table)).count()

    def write_manifest(self, manifest: Manifest) -> None:
        text = json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n"
        out = self.fs.fs.create(self.fs._path_cls(self.stage, MANIFEST_FILE), False)
        try:
            out.write(bytearray(text.encode()))
        finally:
            out.close()

    def commit(self) -> None:
        """The staging folder becomes the destination; a previous copy there is removed."""
        fs, root = self.fs.fs, self.fs.root
        old = self.fs.sibling(f".{root.getName()}.dw-old-{self.run_id}")
        if fs.exists(root) and not fs.rename(root, old):
            raise DatawardError(f"cannot move the previous copy at {self.url} aside; nothing was replaced")
        if not fs.rename(self.stage, root):
            if fs.exists(old):
                fs.rename(old, root)
            raise DatawardError(f"cannot move the new copy into {self.url}; the previous copy is kept")
        fs.delete(old, True)

    def abort(self) -> None:
        self.fs.fs.delete(self.stage, True)


def audit_target(dest: Target) -> Target:
    """The target the exposure audit probes: an ``s3a://`` folder is the S3 bucket behind it."""
    if dest.scheme == "s3a":
        return parse_target("s3://" + dest.url.split("://", 1)[1])
    return dest
