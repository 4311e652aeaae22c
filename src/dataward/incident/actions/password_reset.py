"""Require a password reset at the next sign-in (the API reports ``password_reset_required``)."""

from __future__ import annotations

from collections.abc import Sequence

from dataward.incident.actions.base import Action, BatchOutcome, register_action
from dataward.incident.actions.flags import ensure_flags
from dataward.incident.db import in_ids
from dataward.redact import hash_prefix


@register_action
class PasswordReset(Action):
    name = "password_reset"
    notice_text = "We will ask you to choose a new password the next time you sign in."
    notice_order = 4

    def _pending(self, users: Sequence[int]) -> list[int]:
        db = self.ctx.prod
        ensure_flags(db)
        clause, params = in_ids(db, "user_id", users)
        done = {
            int(r[0])
            for r in db.query(
                f"SELECT user_id FROM dataward_account_flags WHERE password_reset_required = 1 AND {clause}",  # noqa: S608
                params,
            )
        }
        return [u for u in users if u not in done]

    def preview(self, users: Sequence[int]) -> BatchOutcome:
        pending = self._pending(users)
        return BatchOutcome({"users": len(pending)}, [hash_prefix(u) for u in pending[:5]])

    def apply(self, unit: str, users: Sequence[int]) -> BatchOutcome:
        pending = self._pending(users)
        self.ctx.prod.executemany(
            "INSERT INTO dataward_account_flags (user_id, password_reset_required) VALUES (?, 1)"
            " ON CONFLICT (user_id) DO UPDATE SET password_reset_required = 1",
            [(u,) for u in pending],
        )
        return BatchOutcome({"users": len(pending)})
