"""The Spark engine: dataward's copy plan, classification and blast radius compiled to Apache Spark.

Nothing here is a second implementation. A copy plan (``dataward.copy.plan``) becomes Spark SQL built-in
expressions (``compile.py``: keyed HMAC-SHA-256 from ``sha2``, ``unhex`` and ``concat`` over the key's pads,
``date_trunc``, ``regexp_replace``, a window count for k-anonymity), so it runs in the JVM with no Python UDF;
the refusals before a row moves are the local engine's own (``dataward.copy.run.preflight``). Classification
runs the same detector registry inside the executors over Arrow batches (``classify.py``).

PySpark is an optional extra (``pip install 'dataward[spark]'``) and needs Java 17; ``require_spark`` says
so in one sentence when either is missing. From a Spark job::

    from dataward.copy.plan import load_plan
    from dataward.copy.run import load_key
    from dataward.spark import apply_plan

    safe = apply_plan({"users": spark.read.parquet("s3a://lake/users")}, load_plan("plan.toml"), load_key())
    safe["users"].write.parquet("s3a://analytics/users")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from dataward.spark.session import parse_spark_conf, require_spark, spark_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from dataward.copy.plan import Plan
    from dataward.copy.transforms import PseudonymKey

__all__ = ["apply_plan", "parse_spark_conf", "require_spark", "spark_session"]


def apply_plan(
    df_by_table: Mapping[str, DataFrame],
    plan: Plan,
    key: PseudonymKey | None,
    *,
    k: int = 5,
    k_mode: Literal["suppress", "refuse"] = "suppress",
) -> dict[str, DataFrame]:
    """The safe copy of every table as lazy DataFrames (tables whose every column is dropped are left out).

    Refuses like ``dataward copy run``: a table or column the plan does not map, a planned column the data
    lacks, no key for a plan that pseudonymises; with ``k_mode="refuse"`` it counts the quasi-identifier
    classes at once and refuses a table that is not k-anonymous.
    """
    require_spark()
    from dataward.spark.compile import apply_plan as compiled

    return compiled(df_by_table, plan, key, k=k, k_mode=k_mode)
