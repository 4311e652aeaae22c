"""The reference device cloud's own tables as labelled objects (labels from its schema's categories).

Each table of ``DeviceCloud(users, seed)`` is sampled (400 rows, seeded) as the stores would sample it, once
under its real column names and once renamed c0, c1, ... (dropping the labels only a name can justify).
Raises ImportError while ``dataward.devicecloud`` is not available, so the set builds without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from dataward.stores.base import SampledColumn, SampledObject

if TYPE_CHECKING:
    from .dataset import Labelled

USERS = 3000
ROWS = 400


def objects(seed: int) -> Iterator[Labelled]:
    from dataward.devicecloud import schema
    from dataward.devicecloud.generate import DeviceCloud

    from .dataset import NAME_ONLY, Labelled

    cloud = DeviceCloud(USERS, seed)
    labels = schema.all_column_categories()
    rng = np.random.default_rng(seed)
    for table in schema.TABLE_NAMES:
        data = cloud.table(table)
        if data.num_rows > ROWS:
            data = data.take(pa.array(np.sort(rng.choice(data.num_rows, ROWS, replace=False))))
        for renamed in (False, True):
            cols, truth = [], {}
            for i, name in enumerate(data.column_names):
                col_name = f"c{i}" if renamed else name
                values = data.column(name).combine_chunks()
                cols.append(SampledColumn(col_name, values, str(values.type)))
                cats = frozenset(labels[table][name])
                truth[col_name] = cats - NAME_ONLY if renamed else cats
            obj = SampledObject("eval://devicecloud", "eval", f"dc_{table}_{seed}" + ("_x" if renamed else ""),
                                tuple(cols), data.num_rows)
            yield Labelled("devicecloud-renamed" if renamed else "devicecloud", obj, truth)
