"""Revoke the affected customers' API tokens: direct SQL on the token store, or RFC 7009 revocation requests.

The token table and its columns are the schema map's ``token`` role (reference: ``api_tokens``).
``via = "sql"`` (default) sets the role's ``revoked_at`` where it is still NULL, one statement per batch.
``via = "endpoint"`` posts each live token (access and refresh) to the revocation endpoint (RFC 7009 §2.1,
``token`` + ``token_type_hint``, HTTP Basic client authentication when ``client_id`` is set); the endpoint
answers 200 for tokens it does not know or already revoked (§2.2), so re-sending a batch is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

import httpx

from dataward.config_values import resolve_value
from dataward.errors import ConfigError, DatawardError
from dataward.incident.actions.base import Action, BatchOutcome, register_action
from dataward.incident.actions.flags import utc_now_naive
from dataward.incident.db import in_ids
from dataward.redact import hash_prefix
from dataward.suggest import did_you_mean
from dataward.tables.base import quote_ident


@register_action
class RevokeTokens(Action):
    name = "revoke_tokens"
    notice_text = "We revoked the access tokens of every app and device signed in to your account."
    notice_order = 1
    doc_config = {
        "via": '"sql" (default) or "endpoint"',
        "endpoint": "RFC 7009 revocation URL (via = endpoint)",
        "client_id": "client id for HTTP Basic authentication at the endpoint",
        "client_secret": "its secret ({env = ...} or {file = ...})",
        "concurrency": "parallel revocation requests (default 8)",
    }

    @classmethod
    def check_config(cls, config: dict[str, Any], where: str) -> None:
        super().check_config(config, where)
        via = config.get("via", "sql")
        if via not in ("sql", "endpoint"):
            raise ConfigError(f"{where} via = {via!r} is not \"sql\" or \"endpoint\".{did_you_mean(str(via), ['sql', 'endpoint'])}")

    @cached_property
    def _tokens(self) -> tuple[str, dict[str, str]]:
        if self.ctx.config.get("via", "sql") == "endpoint":
            return self.ctx.columns("token", "customer", "revoked_at", "access_token")
        return self.ctx.columns("token", "customer", "revoked_at")

    def check(self) -> None:
        self._tokens  # noqa: B018 - resolves (and so checks) the token role's table and columns

    def _live(self, users: Sequence[int]) -> list[tuple[Any, ...]]:
        """(customer, access token, refresh token) of the live tokens; a token the map lacks reads NULL."""
        table, cols = self._tokens
        refresh = self.ctx.schema.column("token", "refresh_token")
        values = [quote_ident(c) if c else "NULL" for c in (cols.get("access_token"), refresh)]
        clause, params = in_ids(self.ctx.prod, cols["customer"], users)
        return self.ctx.prod.query(
            f"SELECT {quote_ident(cols['customer'])}, {', '.join(values)} FROM {quote_ident(table)}"  # noqa: S608
            f" WHERE {quote_ident(cols['revoked_at'])} IS NULL AND {clause}",
            params,
        )

    def preview(self, users: Sequence[int]) -> BatchOutcome:
        rows = self._live(users)
        return BatchOutcome({"tokens": len(rows)}, [hash_prefix(r[0]) for r in rows[:5]])

    def apply(self, unit: str, users: Sequence[int]) -> BatchOutcome:
        if self.ctx.config.get("via", "sql") == "endpoint":
            return self._via_endpoint(users)
        table, cols = self._tokens
        revoked = quote_ident(cols["revoked_at"])
        clause, params = in_ids(self.ctx.prod, cols["customer"], users)
        changed = self.ctx.prod.execute(
            f"UPDATE {quote_ident(table)} SET {revoked} = ? WHERE {revoked} IS NULL AND {clause}",  # noqa: S608
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
        requests = [(r[1], "access_token") for r in rows if r[1]] + [
            (r[2], "refresh_token") for r in rows if r[2]
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
