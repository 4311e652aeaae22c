"""Notification obligations that follow from who was affected and what was exposed for each of them.

One rule per regime, registered with :func:`obligation_rule`. A rule is a pure function of the affected
customers' facts (country, region, one boolean per exposed field) and the time of awareness; it returns the
mask of customers it covers and the obligation with its deadline and the facts behind it. The predicates
follow each statute's definition of covered data, read conservatively (an API or OAuth token that opens the
account counts as a password); they are a screening aid for counsel, not legal advice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from dataward.categories import CATEGORY_TIERS, Tier
from dataward.incident.store import iso
from dataward.registry import Registry

Mask = npt.NDArray[np.bool_]

# EU member states plus Iceland, Liechtenstein and Norway (EEA); GB applies the same articles as UK GDPR.
EEA: Final[frozenset[str]] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
        "GB",
    ]
)


@dataclass(frozen=True)
class Facts:
    """The affected customers, one position per customer in every array."""

    country: npt.NDArray[np.object_]
    region: npt.NDArray[np.object_]
    fields: Mapping[str, Mask]  # category id -> exposed for this customer
    aware_at: datetime

    @property
    def size(self) -> int:
        return len(self.country)

    def any_of(self, categories: frozenset[str] | set[str]) -> Mask:
        out = np.zeros(self.size, dtype=bool)
        for name in categories:
            if name in self.fields:
                out |= self.fields[name]
        return out

    def tier(self, tier: Tier) -> Mask:
        return self.any_of({c for c, t in CATEGORY_TIERS.items() if t == tier})

    def in_region(self, region: str) -> Mask:
        return np.asarray(self.region == region, dtype=bool)

    def in_countries(self, countries: frozenset[str]) -> Mask:
        return np.isin(self.country, list(countries))

    def exposed_fields(self, mask: Mask) -> list[str]:
        return sorted(name for name, flags in self.fields.items() if bool((flags & mask).any()))


@dataclass(frozen=True)
class Obligation:
    id: str
    customers: int
    deadline: (
        str | None
    )  # the earliest hard deadline (ISO 8601), None where the law says "without undue delay"
    why: str
    notify: tuple[str, ...]  # whom: "supervisory authority", "data subjects", "attorney general", ...
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customers": self.customers,
            "deadline": self.deadline,
            "why": self.why,
            "notify": list(self.notify),
            "facts": self.facts,
        }


Rule = Callable[[Facts], tuple[Mask, Obligation] | None]


@dataclass(frozen=True)
class ObligationRule:
    id: str  # e.g. "gdpr_art33"
    fn: Rule


OBLIGATIONS: Registry[ObligationRule] = Registry("obligation rule", key=lambda r: r.id)  # all defined below


def obligation_rule(rule_id: str) -> Callable[[Rule], Rule]:
    def wrap(fn: Rule) -> Rule:
        OBLIGATIONS.register(ObligationRule(rule_id, fn))
        return fn

    return wrap


def evaluate_obligations(facts: Facts) -> tuple[list[Obligation], dict[str, Mask]]:
    """Every regime that applies, with the mask of customers each covers (for the per-customer Parquet)."""
    out: list[Obligation] = []
    masks: dict[str, Mask] = {}
    for rule_id, rule in OBLIGATIONS.items():
        result = rule.fn(facts)
        if result is not None:
            mask, obligation = result
            out.append(obligation)
            masks[rule_id] = mask
    return out, masks


# What each statute counts as covered data, in category ids -------------------------------------------
CREDENTIALS = frozenset(c for c, t in CATEGORY_TIERS.items() if t == Tier.CREDENTIAL)
HEALTH = frozenset(c for c, t in CATEGORY_TIERS.items() if t == Tier.HEALTH)
ACCOUNT_IDS = frozenset({"email", "username"})
IDENTIFIES = frozenset({"email", "username", "person_name", "phone", "postal_address", "photo_url"})
ID_NUMBERS = frozenset({"gov_id", "payment_card"})


def _deadline(facts: Facts, **delta: float) -> str:
    return iso(facts.aware_at + timedelta(**delta))


def _regions_summary(facts: Facts, mask: Mask, top: int = 8) -> dict[str, int]:
    counts = Counter(str(c) for c in facts.country[mask])
    return dict(counts.most_common(top))


def _state_rule(
    facts: Facts,
    region: str,
    covered: Mask,
    threshold: int,
    days: int | None,
    rule_id: str,
    cite: str,
    what: str,
) -> tuple[Mask, Obligation] | None:
    mask = covered & facts.in_region(region)
    n = int(mask.sum())
    if n == 0:
        return None
    notify = ["affected residents"]
    ag = n > threshold
    if ag:
        notify.append("state attorney general")
    deadline = _deadline(facts, days=days) if days else None
    timing = (
        f"within {days} days" if days else "in the most expedient time possible, without unreasonable delay"
    )
    why = (
        f"{n} {region} residents had {what} exposed ({', '.join(facts.exposed_fields(mask))}); {cite} requires "
        f"notice {timing}"
        + (f", and notice to the attorney general because more than {threshold} residents" if ag else "")
    )
    return mask, Obligation(
        rule_id,
        n,
        deadline,
        why,
        tuple(notify),
        {"residents": n, "attorney_general": ag, "threshold": threshold},
    )


@obligation_rule("gdpr_art33")
def gdpr_art33(facts: Facts) -> tuple[Mask, Obligation] | None:
    """GDPR Art. 33(1): notify the supervisory authority without undue delay and, where feasible, not later than
    72 hours after becoming aware of a personal data breach, unless it is unlikely to result in a risk."""
    mask = facts.in_countries(EEA)
    n = int(mask.sum())
    if n == 0:
        return None
    why = (
        f"{n} customers in the EEA/UK had personal data exposed ({', '.join(facts.exposed_fields(mask))}); "
        "Art. 33(1) requires notifying the lead supervisory authority within 72 hours of awareness"
    )
    facts_out = {"by_country": _regions_summary(facts, mask), "aware_at": iso(facts.aware_at)}
    return mask, Obligation(
        "gdpr_art33", n, _deadline(facts, hours=72), why, ("supervisory authority",), facts_out
    )


@obligation_rule("gdpr_art34")
def gdpr_art34(facts: Facts) -> tuple[Mask, Obligation] | None:
    """GDPR Art. 34(1): communicate the breach to the data subjects without undue delay when it is likely to
    result in a high risk; credentials (account takeover) and Art. 9 special categories (health) are high risk."""
    high = facts.any_of(CREDENTIALS | HEALTH | ID_NUMBERS)
    mask = facts.in_countries(EEA) & high
    n = int(mask.sum())
    if n == 0:
        return None
    fields = [f for f in facts.exposed_fields(mask) if f in CREDENTIALS | HEALTH | ID_NUMBERS]
    why = (
        f"{n} customers in the EEA/UK had high-risk data exposed ({', '.join(fields)}); Art. 34(1) requires "
        "telling each of them without undue delay"
    )
    return mask, Obligation("gdpr_art34", n, None, why, ("data subjects",), {"high_risk_fields": fields})


@obligation_rule("ca_1798_82")
def ca_1798_82(facts: Facts) -> tuple[Mask, Obligation] | None:
    """California Civ. Code 1798.82(a): notice to residents whose personal information (h) was acquired; (h)(1)
    name with medical/ID data, (h)(2) user name or email with a password (here: also a token) that opens the
    account. (d)(1): the notice is titled "Notice of Data Breach" under the headings What Happened, What
    Information Was Involved, What We Are Doing, What You Can Do, For More Information. (f): a sample copy to the
    Attorney General when more than 500 residents are notified."""
    covered = (facts.any_of(set(ACCOUNT_IDS)) & facts.any_of(set(CREDENTIALS))) | (
        facts.any_of({"person_name"}) & facts.any_of(set(HEALTH | ID_NUMBERS))
    )
    result = _state_rule(
        facts,
        "US-CA",
        covered,
        500,
        None,
        "ca_1798_82",
        "Cal. Civ. Code 1798.82",
        "personal information (1798.82(h))",
    )
    if result is None:
        return None
    mask, ob = result
    headings = [
        "What Happened",
        "What Information Was Involved",
        "What We Are Doing",
        "What You Can Do",
        "For More Information",
    ]
    return mask, Obligation(
        ob.id,
        ob.customers,
        ob.deadline,
        ob.why,
        ob.notify,
        {**ob.facts, "title": "Notice of Data Breach", "headings": headings},
    )


@obligation_rule("tx_521_053")
def tx_521_053(facts: Facts) -> tuple[Mask, Obligation] | None:
    """Texas Bus. & Com. Code 521.053(b): notify individuals within 60 days after determining the breach of
    sensitive personal information (521.002(a)(2): name with ID/account numbers, or information that identifies
    an individual and relates to their physical or mental health); (i): the attorney general within 30 days
    when at least 250 Texas residents are involved."""
    covered = (facts.any_of(set(IDENTIFIES)) & facts.any_of(set(HEALTH))) | (
        facts.any_of({"person_name"}) & facts.any_of(set(ID_NUMBERS))
    )
    mask = covered & facts.in_region("US-TX")
    n = int(mask.sum())
    if n == 0:
        return None
    ag = n >= 250
    why = (
        f"{n} Texas residents had sensitive personal information exposed ({', '.join(facts.exposed_fields(mask))}); "
        "521.053 requires notice within 60 days"
        + ("; at least 250 residents, so the attorney general within 30 days" if ag else "")
    )
    deadline = _deadline(facts, days=30 if ag else 60)
    notify = ("affected residents", "attorney general") if ag else ("affected residents",)
    return mask, Obligation(
        "tx_521_053", n, deadline, why, notify, {"residents": n, "attorney_general": ag, "threshold": 250}
    )


@obligation_rule("wa_19_255_010")
def wa_19_255_010(facts: Facts) -> tuple[Mask, Obligation] | None:
    """RCW 19.255.010: notice to Washington residents no more than 30 days after discovery when personal
    information (19.255.005: name with health/ID data or date of birth; user name or email with a password) was
    acquired; (7): the attorney general, also within 30 days, when more than 500 residents are notified."""
    covered = (facts.any_of(set(ACCOUNT_IDS)) & facts.any_of(set(CREDENTIALS))) | (
        facts.any_of({"person_name"}) & facts.any_of(set(HEALTH | ID_NUMBERS | {"date_of_birth"}))
    )
    return _state_rule(
        facts,
        "US-WA",
        covered,
        500,
        30,
        "wa_19_255_010",
        "RCW 19.255.010",
        "personal information (19.255.005)",
    )


@obligation_rule("ftc_hbnr")
def ftc_hbnr(facts: Facts) -> tuple[Mask, Obligation] | None:
    """FTC Health Breach Notification Rule, 16 CFR 318.3-318.5: a vendor of personal health records (a consumer
    health device such as a smart scale) notifies each affected US individual within 60 calendar days of
    discovery; the FTC at the same time when 500 or more are affected (otherwise in the annual log), and media
    in a state with more than 500 affected residents."""
    mask = facts.any_of(set(HEALTH)) & (facts.country == "US")
    n = int(mask.sum())
    if n == 0:
        return None
    fields = [f for f in facts.exposed_fields(mask) if f in HEALTH]
    ftc_now = n >= 500
    why = (
        f"{n} US customers of a consumer health device had health data exposed ({', '.join(fields)}); 16 CFR 318 "
        "requires notifying them within 60 days"
        + (
            "; 500 or more, so the FTC at the same time"
            if ftc_now
            else "; fewer than 500, so the FTC in the annual log"
        )
    )
    notify = ("affected individuals", "Federal Trade Commission")
    return mask, Obligation(
        "ftc_hbnr",
        n,
        _deadline(facts, days=60),
        why,
        notify,
        {"individuals": n, "ftc_contemporaneous": ftc_now, "health_fields": fields},
    )
