"""The reference device cloud: schema, fast deterministic generator, ground truth (see docs/devicecloud.md).

>>> from dataward.devicecloud import DeviceCloud, generate
>>> cloud = DeviceCloud(users=2000, seed=1)      # rows as Arrow, nothing written
>>> result = generate(2000, 1, "duckdb:///tmp/cloud.duckdb", force=True)  # doctest: +SKIP
"""

from dataward.devicecloud.generate import DeviceCloud
from dataward.devicecloud.ground_truth import ground_truth, load_ground_truth
from dataward.devicecloud.output import GenerateResult, generate, ground_truth_path_for
from dataward.devicecloud.schema import (
    TABLE_NAMES,
    TABLES,
    arrow_schema,
    column_categories,
    schema_map,
    sensitive_columns,
)
from dataward.devicecloud.values import CAMERA_OUIS, ERROR_CODES, MODELS

__all__ = [
    "CAMERA_OUIS",
    "ERROR_CODES",
    "MODELS",
    "TABLES",
    "TABLE_NAMES",
    "DeviceCloud",
    "GenerateResult",
    "arrow_schema",
    "column_categories",
    "generate",
    "ground_truth",
    "ground_truth_path_for",
    "load_ground_truth",
    "schema_map",
    "sensitive_columns",
]
