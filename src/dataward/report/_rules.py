"""Rule metadata for reports: every rule id a finding can carry, with its summary and remediation.

Exposure rules register generic ids (``*.no-auth``) and emit store-specific ones (``redis.no-auth``); this
module resolves either, and adds the scan's own content rules and the policy rules.
"""

from __future__ import annotations

from dataward.exposure.base import RULES
from dataward.exposure.content import CONTENT_RULES
from dataward.policy.rules import POLICY_RULES
from dataward.report.model import RuleDoc


def all_rules() -> dict[str, RuleDoc]:
    """Every registered rule: exposure, content, scan and policy rules, by registered id."""
    out = {r.id: RuleDoc(r.id, r.summary, r.remediation) for r in RULES}
    for rid, (summary, rem) in CONTENT_RULES.items():
        out[rid] = RuleDoc(rid, summary, rem)
    for pid, rule in POLICY_RULES.items():
        out[pid] = RuleDoc(pid, rule.summary, rule.remediation)
    return out


def rule_info(rule_id: str, rules: dict[str, RuleDoc] | None = None) -> RuleDoc:
    """The metadata for a finding's rule id: exact, else its generic ``*.<rule>`` form, else a stub."""
    rules = rules if rules is not None else all_rules()
    if rule_id in rules:
        return rules[rule_id]
    generic = "*." + rule_id.split(".", 1)[-1]
    if generic in rules:
        r = rules[generic]
        return RuleDoc(rule_id, r.summary, r.remediation)
    return RuleDoc(rule_id, rule_id, "")
