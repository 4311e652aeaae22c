"""``--format ocsf``: OCSF Detection Finding events (class_uid 2004, OCSF 1.1.0), one JSON object per line.

Ref: Open Cybersecurity Schema Framework 1.1.0, Findings category (category_uid 2), Detection Finding
(class_uid 2004); type_uid = class_uid * 100 + activity_id (1 = Create). JSON lines because SIEM collectors
(Splunk HEC, Security Lake, Sentinel) ingest one event per line; ``render_ocsf_array`` gives a JSON array.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from dataward import __version__
from dataward.findings import Finding, Severity
from dataward.report.base import register_format
from dataward.report.model import Report

OCSF_VERSION = "1.1.0"
CLASS_UID = 2004
CATEGORY_UID = 2
ACTIVITY_CREATE = 1
SEVERITY_IDS = {
    Severity.INFO: 1,
    Severity.LOW: 2,
    Severity.MEDIUM: 3,
    Severity.HIGH: 4,
    Severity.CRITICAL: 5,
}
STATUS_NEW, STATUS_SUPPRESSED = 1, 3


@register_format("ocsf", suffixes=(".jsonl", ".ocsf"))
def render_ocsf(report: Report) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in ocsf_events(report))


def render_ocsf_array(report: Report) -> str:
    return json.dumps(ocsf_events(report), indent=2, ensure_ascii=False) + "\n"


def ocsf_events(report: Report) -> list[dict[str, Any]]:
    now = _ms(report.generated_at)
    return [_event(f, now) for f in report.findings]


def _event(f: Finding, time_ms: int) -> dict[str, Any]:
    return {
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "time": time_ms,
        "severity_id": SEVERITY_IDS[f.severity],
        "severity": f.severity.label.capitalize() if f.severity is not Severity.INFO else "Informational",
        "status_id": STATUS_SUPPRESSED if f.suppressed else STATUS_NEW,
        "status": "Suppressed" if f.suppressed else "New",
        "message": f.title,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "dataward", "vendor_name": "dataward", "version": __version__},
            "log_name": "dataward.report/v1",
        },
        "finding_info": {
            "uid": f.id,
            "title": f.title,
            "desc": f.evidence,
            "types": [f.rule],
            "analytic": {"uid": f.rule, "name": f.rule, "type_id": 1, "type": "Rule"},
            "first_seen_time": _ms(f.first_seen),
        },
        "resources": [
            {
                "uid": f.target,
                "name": f.object or f.store_name or f.target,
                "type": f.store,
                "data": {"store_name": f.store_name, "categories": f.categories, "records": f.records},
            }
        ],
        "remediation": {"desc": f.remediation},
        "unmapped": {"policy": f.policy, "categories": f.categories},
    }


def _ms(stamp: str) -> int:
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0
