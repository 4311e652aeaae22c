"""``--engine local|spark`` with ``--spark-master`` and ``--spark-conf``, shared by the commands that have it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dataward.targets import Target

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Engine:
    name: str  # local | spark
    master: str = "local[*]"
    conf: tuple[str, ...] = ()

    @property
    def spark(self) -> bool:
        return self.name == "spark"

    def session(self, source: Target | None = None) -> SparkSession:
        """The Spark session (PySpark, Java and a Delta source's Delta Lake checked first; the source's JDBC
        driver jar added)."""
        from dataward.spark.session import parse_spark_conf, require_spark, spark_session

        require_spark()
        from dataward.spark.delta import check_delta_before_start
        from dataward.spark.io import driver_jars

        conf = parse_spark_conf(self.conf)
        if source is not None:
            check_delta_before_start(source, self.master, conf)
        jars = driver_jars(source, conf) if source is not None else []
        return spark_session(self.master, conf, jars)


def engine_options(command: F) -> F:
    """Adds --engine, --spark-master and --spark-conf (passed on as ``engine``, ``spark_master``,
    ``spark_conf``; ``engine_from`` makes them one ``Engine``)."""
    options = [
        click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
                     help="local: Arrow/DuckDB on this machine; spark: compiled to Apache Spark "
                          "(pip install 'dataward[spark]')."),
        click.option("--spark-master", default="local[*]", show_default=True, metavar="URL",
                     help="Spark master with --engine spark (local[4], yarn, k8s://https://host:443)."),
        click.option("--spark-conf", multiple=True, metavar="K=V",
                     help="Spark configuration with --engine spark, repeatable (spark.driver.memory=4g)."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def engine_from(engine: str, spark_master: str, spark_conf: tuple[str, ...]) -> Engine:
    return Engine(engine, spark_master, tuple(spark_conf))
