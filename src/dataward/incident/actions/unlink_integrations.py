"""Unlink third-party integrations (Alexa, Google Assistant, IFTTT ...) and record which ones need a relink.

Per provider, in one transaction per batch: mark ``integrations.unlinked_at`` where still linked, and add the
provider to the user's ``relink_providers`` flag, which the API reports and the notice tells the customer.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataward.incident._db import in_ids
from dataward.incident.actions.base import Action, BatchOutcome, register_action
from dataward.incident.actions.flags import ensure_flags, utc_now_naive
from dataward.redact import hash_prefix

DEFAULT_PROVIDERS = ("alexa", "google_assistant", "ifttt")


@register_action
class UnlinkIntegrations(Action):
    name = "unlink_integrations"
    doc_config = {"providers": 'providers to unlink (default ["alexa", "google_assistant", "ifttt"])'}

    @property
    def providers(self) -> list[str]:
        return [str(p) for p in self.ctx.config.get("providers", DEFAULT_PROVIDERS)]

    def _linked(self, users: Sequence[int], provider: str) -> list[int]:
        clause, params = in_ids(self.ctx.prod, "user_id", users)
        rows = self.ctx.prod.query(
            f"SELECT DISTINCT user_id FROM integrations WHERE provider = ? AND unlinked_at IS NULL AND {clause}",  # noqa: S608
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
                clause, params = in_ids(db, "user_id", linked)
                db.execute(
                    f"UPDATE integrations SET unlinked_at = ? WHERE provider = ? AND unlinked_at IS NULL AND {clause}",  # noqa: S608
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
