"""A SARIF 2.1.0 structure check built on sarif-om's object model (the OASIS classes, one per schema object).

Every object dataward emits is mapped to its sarif-om class; each key must be one of that class's schema
property names, the properties the standard marks required must be there, and enumerations hold their
standard values (SARIF 2.1.0 §3.13 sarifLog, §3.14 run, §3.19 toolComponent, §3.27 result, §3.27.10 level,
§3.35.3 suppression kind, §3.49 reportingDescriptor). 'properties' bags are free-form by the standard.
"""

from __future__ import annotations

from typing import Any

import attr
import sarif_om

# (path of an object in the log, its sarif-om class); "[]" marks array items.
CLASSES: dict[str, type] = {
    "": sarif_om.SarifLog,
    "runs[]": sarif_om.Run,
    "runs[].tool": sarif_om.Tool,
    "runs[].tool.driver": sarif_om.ToolComponent,
    "runs[].tool.driver.rules[]": sarif_om.ReportingDescriptor,
    "runs[].tool.driver.rules[].shortDescription": sarif_om.MultiformatMessageString,
    "runs[].tool.driver.rules[].fullDescription": sarif_om.MultiformatMessageString,
    "runs[].tool.driver.rules[].help": sarif_om.MultiformatMessageString,
    "runs[].tool.driver.rules[].defaultConfiguration": sarif_om.ReportingConfiguration,
    "runs[].invocations[]": sarif_om.Invocation,
    "runs[].results[]": sarif_om.Result,
    "runs[].results[].message": sarif_om.Message,
    "runs[].results[].locations[]": sarif_om.Location,
    "runs[].results[].locations[].physicalLocation": sarif_om.PhysicalLocation,
    "runs[].results[].locations[].physicalLocation.artifactLocation": sarif_om.ArtifactLocation,
    "runs[].results[].locations[].logicalLocations[]": sarif_om.LogicalLocation,
    "runs[].results[].suppressions[]": sarif_om.Suppression,
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "": ("version", "runs"),
    "runs[]": ("tool",),
    "runs[].tool": ("driver",),
    "runs[].tool.driver": ("name",),
    "runs[].tool.driver.rules[]": ("id",),
    "runs[].tool.driver.rules[].shortDescription": ("text",),
    "runs[].tool.driver.rules[].fullDescription": ("text",),
    "runs[].tool.driver.rules[].help": ("text",),
    "runs[].invocations[]": ("executionSuccessful",),
    "runs[].results[]": ("message",),
    "runs[].results[].suppressions[]": ("kind",),
}
ENUMS: dict[str, tuple[str, ...]] = {
    "runs[].results[].level": ("none", "note", "warning", "error"),
    "runs[].tool.driver.rules[].defaultConfiguration.level": ("none", "note", "warning", "error"),
    "runs[].results[].kind": ("notApplicable", "pass", "fail", "review", "open", "informational"),
    "runs[].results[].suppressions[].kind": ("inSource", "external"),
}
EXTRA_KEYS = {"": {"$schema"}}  # sarifLog §3.13.3 allows '$schema'; sarif-om omits it


def sarif_problems(log: dict[str, Any]) -> list[str]:
    """Every way ``log`` departs from the SARIF 2.1.0 object model, as readable lines (empty = valid)."""
    problems: list[str] = []
    _walk(log, "", problems)
    if log.get("version") != "2.1.0":
        problems.append("version must be '2.1.0'")
    return problems


def _walk(obj: Any, path: str, problems: list[str]) -> None:
    cls = CLASSES.get(path)
    if cls is None or not isinstance(obj, dict):
        return
    allowed = {a.metadata["schema_property_name"] for a in attr.fields(cls)} | EXTRA_KEYS.get(path, set())
    for key in obj:
        if key not in allowed:
            problems.append(f"{path or '<log>'}: '{key}' is not a property of {cls.__name__}")
    for key in REQUIRED.get(path, ()):
        if key not in obj:
            problems.append(f"{path or '<log>'}: required property '{key}' is missing")
    for key, value in obj.items():
        child = f"{path}.{key}" if path else key
        if child in ENUMS and value not in ENUMS[child]:
            problems.append(f"{child}: '{value}' is not one of {ENUMS[child]}")
        if key == "properties" and not isinstance(value, dict):
            problems.append(f"{child}: a property bag must be an object")
        if isinstance(value, list):
            for item in value:
                _walk(item, child + "[]", problems)
        else:
            _walk(value, child, problems)
