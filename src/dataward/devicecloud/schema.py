"""The reference device cloud's production schema (DESIGN.md) as Arrow schemas, with the sensitive-data
category of every column.

``categories`` lists every category a column may hold, the main one first (``integrations.access_token``
holds Alexa tokens and other providers' OAuth access tokens). A column without categories holds nothing
sensitive by DESIGN.md's definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import pyarrow as pa

from dataward.schemamap import SchemaMap

TS = pa.timestamp("us")  # UTC, stored without a zone in every output kind


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    categories: tuple[str, ...] = ()
    nullable: bool = False

    @property
    def category(self) -> str | None:
        """The main sensitive category, or None."""
        return self.categories[0] if self.categories else None


def _c(name: str, t: pa.DataType, *categories: str, nullable: bool = False) -> Column:
    return Column(name, t, tuple(categories), nullable)


TABLES: Final[MappingProxyType[str, tuple[Column, ...]]] = MappingProxyType(
    {
        "users": (
            _c("id", pa.int64()),
            _c("email", pa.string(), "email"),
            _c("username", pa.string(), "username"),
            _c("full_name", pa.string(), "person_name"),
            _c("phone", pa.string(), "phone", nullable=True),
            _c("country", pa.string()),
            _c("region", pa.string()),
            _c("created_at", TS),
            _c("password_hash", pa.string(), "password_hash"),
            _c("mfa_enabled", pa.bool_()),
            _c("profile_photo_url", pa.string(), "photo_url", nullable=True),
        ),
        "devices": (
            _c("id", pa.int64()),
            _c("user_id", pa.int64()),
            _c("mac", pa.string(), "mac_address"),
            _c("model", pa.string(), "device_model"),
            _c("firmware_version", pa.string(), "firmware_version"),
            _c("nickname", pa.string(), "device_nickname", "person_name"),
            _c("wifi_ssid", pa.string(), "wifi_ssid"),
            _c("ip_address", pa.string(), "ip_address"),
            _c("timezone", pa.string()),
            _c("activated_at", TS),
            _c("last_seen_at", TS),
        ),
        "connection_events": (
            _c("id", pa.int64()),
            _c("device_id", pa.int64()),
            _c("ts", TS),
            _c("kind", pa.string()),
            _c("error_code", pa.string(), nullable=True),
            _c("rssi", pa.int32()),
        ),
        "api_tokens": (
            _c("id", pa.int64()),
            _c("user_id", pa.int64()),
            _c("platform", pa.string()),
            _c("access_token", pa.string(), "api_token"),
            _c("refresh_token", pa.string(), "oauth_refresh_token"),
            _c("issued_at", TS),
            _c("expires_at", TS),
            _c("revoked_at", TS, nullable=True),
        ),
        "integrations": (
            _c("id", pa.int64()),
            _c("user_id", pa.int64()),
            _c("provider", pa.string()),
            _c("access_token", pa.string(), "alexa_token", "api_token"),
            _c("refresh_token", pa.string(), "oauth_refresh_token", "alexa_token"),
            _c("linked_at", TS),
            _c("unlinked_at", TS, nullable=True),
        ),
        "body_metrics": (
            _c("id", pa.int64()),
            _c("user_id", pa.int64()),
            _c("measured_at", TS),
            _c("height_cm", pa.float64(), "health_metric"),
            _c("weight_kg", pa.float64(), "health_metric"),
            _c("gender", pa.string(), "gender"),
            _c("bone_mass_kg", pa.float64(), "health_metric"),
            _c("protein_pct", pa.float64(), "health_metric"),
            _c("body_fat_pct", pa.float64(), "health_metric"),
        ),
    }
)

TABLE_NAMES: Final[tuple[str, ...]] = tuple(TABLES)


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema every output kind reads back for ``table`` (fields are nullable, as stores report)."""
    return pa.schema([pa.field(c.name, c.type) for c in TABLES[table]])


def column_categories() -> dict[str, dict[str, str | None]]:
    """table -> column -> main category id (None for a column with nothing sensitive)."""
    return {t: {c.name: c.category for c in cols} for t, cols in TABLES.items()}


def all_column_categories() -> dict[str, dict[str, list[str]]]:
    """table -> column -> every category the column may hold, main one first."""
    return {t: {c.name: list(c.categories) for c in cols} for t, cols in TABLES.items()}


def sensitive_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table] if c.categories]


def schema_map() -> SchemaMap:
    """This schema's roles for analytics and incident response: the reference ``[schema]`` map dataward ships
    (``SchemaMap.reference()``, from ``dataward/data/reference-schema.toml``)."""
    return SchemaMap.reference()
