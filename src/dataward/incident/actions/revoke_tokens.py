"""Revoke the affected customers' API tokens: direct SQL on the token store, or RFC 7009 revocation requests.

``via = "sql"`` (default) sets ``api_tokens.revoked_at`` where it is still NULL, one statement per batch.
``via = "endpoint"`` posts each live token (access and refresh) to the revocation endpoint (RFC 7009 §2.1,
``token`` + ``token_type_hint``, HTTP Basic client authentication when ``client_id`` is set); the endpoint
answers 200 for tokens it does not know or already revoked (§2.2), so re-sending a batch is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from dataward.config_values import resolve_value
from dataward.errors import ConfigError, DatawardError
from dataward.incident._db import in_ids
from dataward.incident.actions.base import Action, BatchOutcome, register_action
from dataward.incident.actions.flags import utc_now_naive
from dataward.redact import hash_prefix


@register_action
class RevokeTokens(Action):
    name = "revoke_tokens"
    doc_config = {
        "via": '"sql" (default) or "endpoint"',
        "endpoint": "RFC 7009 revocation URL (via = endpoint)",
        "client_id": "client id for HTTP Basic authentication at the endpoint",
        "client_secret": "its secret ({env = ...} or {file = ...})",
        "concurrency": "parallel revocation requests (default 8)",
    }

    def _live(self, users: Sequence[int]) -> list[tuple[Any, ...]]:
        clause, params = in_ids(self.ctx.prod, "user_id", users)
        return self.ctx.prod.query(
            f"SELECT id, user_id, access_token, refresh_token FROM api_tokens WHERE revoked_at IS NULL AND {clause}",  # noqa: S608
            params,
        )

    def preview(self, users: Sequence[int]) -> BatchOutcome:
        rows = self._live(users)
        return BatchOutcome({"tokens": len(rows)}, [hash_prefix(r[1]) for r in rows[:5]])

    def apply(self, unit: str, users: Sequence[int]) -> BatchOutcome:
        if self.ctx.config.get("via", "sql") == "endpoint":
            return self._via_endpoint(users)
        clause, params = in_ids(self.ctx.prod, "user_id", users)
        changed = self.ctx.prod.execute(
            f"UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND {clause}",  # noqa: S608
            (utc_now_naive(), *params),
        )
        return BatchOutcome({"tokens": max(changed, 0)})

    def _via_endpoint(self, users: Sequence[int]) -> BatchOutcome:
        cfg = self.ctx.config
        url = cfg.get("endpoint")
        if not url:
            raise ConfigError('revoke_tokens with via = "endpoint" needs endpoint = "https://…/oauth/revoke"')
        auth = None
        if cfg.get("client_id"):
            secret = resolve_value(
                cfg.get("client_secret", ""), "revoke_tokens client_secret", self.ctx.base_dir
            )
            auth = (str(cfg["client_id"]), secret)
        rows = self._live(users)
        requests = [(r[2], "access_token") for r in rows if r[2]] + [
            (r[3], "refresh_token") for r in rows if r[3]
        ]
        with httpx.Client(timeout=10.0, auth=auth) as client:

            def post(item: tuple[str, str]) -> int:
                try:
                    return client.post(
                        str(url), data={"token": item[0], "token_type_hint": item[1]}
                    ).status_code
                except httpx.HTTPError as exc:
                    raise DatawardError(f"the revocation endpoint {url} did not answer: {exc}") from None

            with ThreadPoolExecutor(max_workers=int(cfg.get("concurrency", 8))) as pool:
                codes = list(pool.map(post, requests))
        bad = [c for c in codes if c != 200]
        if bad:
            raise DatawardError(
                f"the revocation endpoint {url} refused {len(bad)} of {len(codes)} requests (HTTP {bad[0]})",
                tip="check client_id/client_secret; the step resumes from this batch when run again",
            )
        return BatchOutcome({"tokens": len(rows), "requests": len(codes)})
