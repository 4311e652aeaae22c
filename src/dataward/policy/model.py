"""The policy file's shape (DESIGN.md 'Policy'): stores, what each role may hold and must have, residency.

Every model forbids unknown keys, so a misspelt ``onwer`` is an error, not a silently ignored line.
``load.py`` turns pydantic's validation errors into one sentence with a 'Did you mean …?'.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from dataward.schemamap import SchemaMap
from dataward.targets import Target

Role = Literal["production", "analytics", "backup", "dev", "export"]
ROLES: Final[tuple[str, ...]] = ("production", "analytics", "backup", "dev", "export")

# Controls a role may require; 'private-network' is accepted as a spelling of 'private_network'.
CONTROLS: Final[tuple[str, ...]] = ("auth", "tls", "owner", "expiry", "private_network")

ConfigValue = str | dict[str, str]  # a literal, {env = "NAME"} or {file = "path"} (config_values.py)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    """One ``[[store]]``: a store the company knows about, with what it is for and who answers for it."""

    name: str
    url: ConfigValue
    role: Role | None = None
    owner: str | None = None
    expires: date | None = None
    region: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)


class RolePolicy(_Strict):
    """``[role.<name>]``: tiers or category ids the role may not hold, controls it must have."""

    forbid: list[str] = Field(default_factory=list)
    require: list[str] = Field(default_factory=list)
    allowed_regions: list[str] | None = None


class Residency(_Strict):
    """``[residency]``: where customer data may live (region codes as the stores' ``region`` values)."""

    allowed_regions: list[str] = Field(default_factory=list)


class ScanSettings(_Strict):
    """``[scan]``: defaults for ``dataward scan`` that command-line options override."""

    rows: int | None = Field(default=None, gt=0)
    timeout: float | None = Field(default=None, gt=0)
    fail_on: str | None = None
    contents: bool = True
    baseline: str | None = None


class AlertConfig(_Strict):
    """``[[alert]]``: where the watcher sends alerts (see docs/watch.md)."""

    url: ConfigValue
    events: list[str] | None = None
    name: str | None = None


class Policy(_Strict):
    """A whole dataward.toml. ``source`` and the line map let findings point at the line that made them."""

    store: list[StoreConfig] = Field(default_factory=list)
    role: dict[Role, RolePolicy] = Field(default_factory=dict)
    residency: Residency | None = None
    scan: ScanSettings = Field(default_factory=ScanSettings)
    alert: list[AlertConfig] = Field(default_factory=list)
    watch: dict[str, Any] = Field(default_factory=dict)
    schema_map: SchemaMap | None = Field(default=None, alias="schema")  # [schema]: dataward.schemamap

    _source: str | None = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)
    _urls: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> str | None:
        """The file the policy came from, as given (for ``policy`` references in findings)."""
        return self._source

    def line_of(self, *path: str | int) -> int | None:
        """The line of a key or table in the source file, the nearest enclosing one when not written."""
        for n in range(len(path), 0, -1):
            line = self._lines.get(tuple(path[:n]))
            if line is not None:
                return line
        return None

    def ref(self, dotted: str, *path: str | int) -> str:
        """``role.analytics.forbid (dataward.toml:14)``: the policy line a finding came from."""
        line = self.line_of(*path) if path else None
        if self._source and line:
            return f"{dotted} ({self._source}:{line})"
        return f"{dotted} ({self._source})" if self._source else dotted

    def store_named(self, name: str | None) -> StoreConfig | None:
        return next((s for s in self.store if s.name == name), None) if name else None

    def store_index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.store) if s.name == name)

    def role_policy(self, role: str | None) -> RolePolicy | None:
        return self.role.get(role) if role else None  # type: ignore[call-overload]

    def allowed_regions(self, role: str | None) -> list[str] | None:
        rp = self.role_policy(role)
        if rp is not None and rp.allowed_regions is not None:
            return rp.allowed_regions
        return self.residency.allowed_regions if self.residency else None

    def targets(self) -> list[Target]:
        """Every ``[[store]]`` as a Target named after it (URLs resolved at load time)."""
        from dataward.targets import parse_target

        return [parse_target(self._urls[s.name], name=s.name) for s in self.store]

    def store_for_target(self, target: Target) -> StoreConfig | None:
        """The ``[[store]]`` a target belongs to: by name, else by its (resolved) URL."""
        found = self.store_named(target.name)
        if found is not None:
            return found
        for s in self.store:
            if self._urls.get(s.name) == target.url:
                return s
        return None
