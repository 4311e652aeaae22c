"""Unlink third-party integrations (Alexa, Google Assistant, IFTTT ...) and record which ones need a relink.

The table and columns are the schema map's ``integration`` role (reference: ``integrations``).
Per provider, in one transaction per batch: mark the role's ``unlinked_at`` where still linked, and add the
provider to the user's ``relink_providers`` flag, which the API reports and the notice tells the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from dataward.errors import ConfigError
from dataward.incident.actions.base import Action, BatchOutcome, register_action
from dataward.incident.actions.flags import ensure_flags, utc_now_naive
from dataward.incident.db import in_ids
from dataward.redact import hash_prefix
from dataward.suggest import did_you_mean
from dataward.tables.base import quote_ident

DEFAULT_PROVIDERS = ("alexa", "google_assistant", "ifttt")


@register_action
class UnlinkIntegrations(Action):
    name = "unlink_integrations"
    notice_text = "We disconnected voice-assistant and automation integrations linked to your account."
    notice_order = 3
    doc_config = {"providers": 'providers to unlink (default ["alexa", "google_assistant", "ifttt"])'}

    @property
    def providers(self) -> list[str]:
        return [str(p) for p in self.ctx.config.get("providers", DEFAULT_PROVIDERS)]

    @cached_property
    def _names(self) -> dict[str, str]:
        """Quoted table (``table``) and columns of the integration role, and the raw customer column."""
        table, cols = self.ctx.columns("integration", "customer", "provider", "unlinked_at")
        return {
            "table": quote_ident(table),
            **{k: quote_ident(v) for k, v in cols.items()},
            "raw": cols["customer"],
        }

    @classmethod
    def check_config(cls, config: dict[str, Any], where: str) -> None:
        super().check_config(config, where)
        providers = config.get("providers", DEFAULT_PROVIDERS)
        if not isinstance(providers, list | tuple) or not providers or not all(isinstance(p, str) for p in providers):
            raise ConfigError(f'{where} providers must be a list of provider names, e.g. ["alexa"]')

    def check(self) -> None:
        """The role's table and columns exist, and every provider named is one production holds."""
        n = self._names
        rows = self.ctx.prod.query(f"SELECT DISTINCT {n['provider']} FROM {n['table']}")  # noqa: S608
        present = sorted(str(r[0]) for r in rows if r[0] is not None)
        for provider in self.providers:
            if provider not in present and provider not in DEFAULT_PROVIDERS:
                raise ConfigError(
                    f"unlink_integrations provider '{provider}' is not in the integrations."
                    f"{did_you_mean(provider, [*present, *DEFAULT_PROVIDERS])}",
                    tip=f"providers present: {', '.join(present) or 'none'}",
                )

    def _where(self, users: Sequence[int]) -> tuple[str, tuple[object, ...]]:
        """Still-linked rows of one provider (the first parameter) of these customers."""
        n = self._names
        clause, params = in_ids(self.ctx.prod, n["raw"], users)
        return f"{n['provider']} = ? AND {n['unlinked_at']} IS NULL AND {clause}", params

    def _linked(self, users: Sequence[int], provider: str) -> list[int]:
        n = self._names
        where, params = self._where(users)
        rows = self.ctx.prod.query(
            f"SELECT DISTINCT {n['customer']} FROM {n['table']} WHERE {where}",  # noqa: S608
            (provider, *params),
        )
        return [int(r[0]) for r in rows]

    def preview(self, users: Sequence[int]) -> BatchOutcome:
        out = BatchOutcome()
        for provider in self.providers:
            linked = self._linked(users, provider)
            out.add(BatchOutcome({provider: len(linked)}, [hash_prefix(u) for u in linked[:2]]))
        return out

    def apply(self, unit: str, users: Sequence[int]) -> BatchOutcome:
        db = self.ctx.prod
        ensure_flags(db)
        now = utc_now_naive()
        counts: dict[str, int] = {}
        with db.transaction():
            for provider in self.providers:
                linked = self._linked(users, provider)
                counts[provider] = len(linked)
                if not linked:
                    continue
                where, params = self._where(linked)
                db.execute(
                    f"UPDATE {self._names['table']} SET {self._names['unlinked_at']} = ? WHERE {where}",  # noqa: S608
                    (now, provider, *params),
                )
                db.executemany(
                    "INSERT INTO dataward_account_flags (user_id, relink_providers) VALUES (?, ?)"
                    " ON CONFLICT (user_id) DO UPDATE SET relink_providers = CASE"
                    " WHEN dataward_account_flags.relink_providers = '' THEN excluded.relink_providers"
                    " ELSE dataward_account_flags.relink_providers || ',' || excluded.relink_providers END",
                    [(u, provider) for u in linked],
                )
        return BatchOutcome(counts)
