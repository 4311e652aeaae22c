"""``--format json``: the report as DESIGN.md's ``dataward.report/v1`` (schema: schemas/report.schema.json)."""

from __future__ import annotations

import json

from dataward.report.base import register_format
from dataward.report.model import Report


@register_format("json", suffixes=(".json",))
def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
