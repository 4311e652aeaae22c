"""``--format sarif``: SARIF 2.1.0 (OASIS), so code-scanning UIs can show dataward findings.

Ref: Static Analysis Results Interchange Format 2.1.0, sections 3.27 (result), 3.49 (reportingDescriptor),
3.27.17 (partialFingerprints), 3.33 (logicalLocation), 3.35 (suppression). Stores are not source files, so a
result's location is the store's redacted URL (artifactLocation.uri) plus the table/key pattern as a logical
location. ``partialFingerprints`` carries the stable finding id, so a UI tracks one problem across scans.
"""

from __future__ import annotations

import json
from typing import Any

from dataward import __version__
from dataward.findings import Finding, Severity
from dataward.report._rules import all_rules, rule_info
from dataward.report.base import register_format
from dataward.report.model import Report, RuleDoc

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFO_URI = "https://github.com/dataward/dataward/blob/main/docs/scan.md"

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads 'security-severity' (CVSS-like, 0-10) from rule properties.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


@register_format("sarif", suffixes=(".sarif",))
def render_sarif(report: Report) -> str:
    return json.dumps(sarif_log(report), indent=2, ensure_ascii=False) + "\n"


def sarif_log(report: Report) -> dict[str, Any]:
    rule_ids = _rule_ids(report)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    worst: dict[str, Severity] = {}
    for f in report.findings:
        worst[f.rule] = max(worst.get(f.rule, Severity.INFO), f.severity)
    registry = {**all_rules(), **report.rule_docs}
    rules = [_descriptor(rule_info(rid, registry), worst.get(rid)) for rid in rule_ids]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dataward",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "invocations": [{"executionSuccessful": True, "endTimeUtc": report.generated_at}],
                "results": [_result(f, index[f.rule]) for f in report.findings],
                "properties": {"summary": report.summary()},
            }
        ],
    }


def _rule_ids(report: Report) -> list[str]:
    """Rules the findings used, then every other concrete (non-generic) registered rule."""
    used = list(dict.fromkeys(f.rule for f in report.findings))
    others = sorted(r for r in all_rules() if not r.startswith("*.") and r not in used)
    return used + others


def _descriptor(info: RuleDoc, worst: Severity | None) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": ["security", "privacy", "data-exposure"]}
    if worst is not None:
        props["security-severity"] = SECURITY_SEVERITY[worst]
    return {
        "id": info.id,
        "name": "".join(p.capitalize() for p in info.id.replace("*", "any").replace("-", ".").split(".")),
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": info.description or info.summary},
        "help": {"text": info.remediation or info.summary},
        "helpUri": info.help_uri or INFO_URI,
        "defaultConfiguration": {"level": LEVELS[worst] if worst is not None else "warning"},
        "properties": props,
    }


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    logical: dict[str, Any] = {"name": f.object or f.store, "kind": "object" if f.object else "store"}
    logical["fullyQualifiedName"] = f"{f.store_name or f.target}/{f.object}" if f.object else (f.store_name or f.target)
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": f"{f.title}." + (f" {f.evidence}." if f.evidence else "")},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": f.target}},
                "logicalLocations": [logical],
            }
        ],
        "partialFingerprints": {"datawardFindingId/v1": f.id},
        "properties": {
            "severity": f.severity.label,
            "store": f.store,
            "categories": f.categories,
            "records": f.records,
            "policy": f.policy,
            "remediation": f.remediation,
            "firstSeen": f.first_seen,
        },
    }
    if f.suppressed:
        result["suppressions"] = [{"kind": "external", "justification": "suppressed by the dataward baseline"}]
    return result
