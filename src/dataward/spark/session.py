"""Starting Spark for the CLI: the optional extra and Java checked first, then one session with safe defaults.

Defaults a user can override with ``--spark-conf``: timestamps in UTC (so ``date_trunc`` floors as the local
engine does), quiet logs, and ``spark.sql.redaction.string.regex`` covering 64-byte binary literals: the
HMAC pads of the pseudonym key are literals of the query plan, and this keeps them out of ``explain`` output
and the SQL tab of the Spark UI.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from dataward.errors import ConfigError, DatawardError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL = "pip install 'dataward[spark]'"
# A binary literal of a key pad, as plans print it: 0x followed by 128 hex digits
PAD_REDACTION = r"0x[0-9A-Fa-f]{128}"
DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.redaction.string.regex": PAD_REDACTION,
    "spark.log.level": "ERROR",
    "spark.ui.showConsoleProgress": "false",
}


def require_spark() -> None:
    """PySpark and a Java runtime are there, or one sentence saying how to get them."""
    if importlib.util.find_spec("pyspark") is None:
        raise DatawardError(f"the Spark engine needs PySpark, which is not installed: {INSTALL}")
    if not java_found():
        raise DatawardError(
            "the Spark engine needs a Java 17 runtime and none was found (no JAVA_HOME, no java on PATH)",
            tip="apt-get install openjdk-17-jre-headless, or set JAVA_HOME",
        )


def java_found() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home and os.path.exists(os.path.join(home, "bin", "java"))) or shutil.which("java") is not None


def parse_spark_conf(pairs: Iterable[str]) -> dict[str, str]:
    """``--spark-conf k=v`` options as a dict; a pair without ``=`` is an error naming it."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--spark-conf '{pair}' is not key=value", tip="e.g. --spark-conf spark.driver.memory=4g")
        out[name.strip()] = value
    return out


def spark_session(
    master: str = "local[*]", conf: Mapping[str, str] | None = None, jars: Iterable[str] = ()
) -> SparkSession:
    """A SparkSession (the active one when there is one) with dataward's defaults under the user's conf.

    ``jars`` (JDBC drivers found on this machine) are added to ``spark.jars``; nothing is downloaded.
    """
    require_spark()
    from pyspark.sql import SparkSession

    settings = {**DEFAULTS, **(conf or {})}
    if master.startswith("local") and "spark.pyspark.python" not in settings:
        # local executors run this interpreter: the detector pass imports dataward and its dependencies
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    extra = [j for j in jars if j]
    if extra:
        settings["spark.jars"] = ",".join([*filter(None, [settings.get("spark.jars", "")]), *extra])
    builder = SparkSession.builder.master(master).appName("dataward")
    for name, value in settings.items():
        builder = builder.config(name, value)
    return builder.getOrCreate()
