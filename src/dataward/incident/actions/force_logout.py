"""Sign the affected customers out everywhere: tokens issued before now stop working at the API.

Sets ``force_logout_at`` once per incident (a user already signed out by this incident is left alone), so
re-running never moves the cut-off past tokens the customer obtained after the first run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from dataward.incident.actions.base import Action, BatchOutcome, register_action
from dataward.incident.actions.flags import ensure_flags
from dataward.incident.db import in_ids
from dataward.redact import hash_prefix


@register_action
class ForceLogout(Action):
    name = "force_logout"
    notice_text = "We signed your account out everywhere; sign in again in the app."
    notice_order = 2

    def _pending(self, users: Sequence[int]) -> list[int]:
        db = self.ctx.prod
        ensure_flags(db)
        clause, params = in_ids(db, "user_id", users)
        done = db.query(
            f"SELECT user_id FROM dataward_account_flags WHERE force_logout_at >= ? AND {clause}",  # noqa: S608
            (self.ctx.incident.opened_at.replace("Z", ".000000Z"), *params),
        )
        skip = {int(r[0]) for r in done}
        return [u for u in users if u not in skip]

    def preview(self, users: Sequence[int]) -> BatchOutcome:
        pending = self._pending(users)
        return BatchOutcome({"users": len(pending)}, [hash_prefix(u) for u in pending[:5]])

    def apply(self, unit: str, users: Sequence[int]) -> BatchOutcome:
        pending = self._pending(users)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # sorts as text against opened_at
        self.ctx.prod.executemany(
            "INSERT INTO dataward_account_flags (user_id, force_logout_at) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET force_logout_at = excluded.force_logout_at",
            [(u, stamp) for u in pending],
        )
        return BatchOutcome({"users": len(pending)})
