"""Which table and column play each role in a device company's data: the ``[schema]`` section of dataward.toml.

Analytics, blast radius, respond and notify never name a production table or column themselves; they ask
the map for a role's table and columns (DESIGN.md, "Schema map")::

    >>> schema = SchemaMap.reference()                   # the reference device cloud's map (product data)
    >>> schema.require("customer", "email", by="notify")
    ('users', 'email')
    >>> schema.table("device", by="analytics")
    'devices'
    >>> schema.column("customer", "region")               # an optional column: None when the map lacks it
    'region'

``load_schema_map(path)`` reads the ``[schema]`` section of a TOML file (a file holding only ``[schema]`` is
valid; other sections are the policy's business). A role or column that a command needs but the map lacks
raises :class:`SchemaMapError`: one sentence naming it, and a tip showing the TOML to add, so a command never
answers from a table that is not there.

Roles and their columns (every column is optional in the file; the command that needs it says so):

- ``customer``: ``id``, ``email``, ``country`` (ISO 3166-1), ``region`` (ISO 3166-2), ``created_at``
- ``device``: ``id``, ``customer`` (the owner's customer id), ``model``, ``firmware``, ``created_at``
- ``connection_event``: ``id``, ``device``, ``time``, ``kind``, ``error_code``; ``kinds`` maps the
  canonical kinds ``connect`` / ``disconnect`` / ``failure`` to the values stored, when they differ
- ``token``: ``id``, ``customer``, ``access_token``, ``refresh_token``, ``created_at``, ``revoked_at``
- ``integration``: ``id``, ``customer``, ``provider``, ``created_at``, ``unlinked_at``
- ``health``: ``id``, ``customer``, ``created_at``

Each role may also list ``categories`` (column -> category id or ids) of its table's sensitive columns:
what blast radius assumes an exposed copy of that table held when no classification file is given.
Names are data, never SQL: callers quote them as identifiers (``dataward.tables.base.quote_ident``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from dataward.errors import ConfigError
from dataward.suggest import did_you_mean

REFERENCE_FILE: Final = "data/reference-schema.toml"
KINDS: Final[tuple[str, ...]] = ("connect", "disconnect", "failure")


class SchemaMapError(ConfigError):
    """A role or column a command needs is not in the schema map, or the map cannot be read."""


class Role(BaseModel):
    """One role: the table that plays it and, per role column, the column that plays that part."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    columns: ClassVar[tuple[str, ...]] = ()

    table: str
    categories: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("categories", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """``email = "email"`` and ``token = ["alexa_token", "api_token"]`` both mean a tuple of ids."""
        if isinstance(value, dict):
            return {k: (v,) if isinstance(v, str) else v for k, v in value.items()}
        return value

    def column(self, name: str) -> str | None:
        """The column playing ``name`` in this role, or None when the map does not say."""
        value = getattr(self, name, None) if name in self.columns else None
        return value if isinstance(value, str) else None


class CustomerRole(Role):
    columns = ("id", "email", "country", "region", "created_at")
    id: str | None = None
    email: str | None = None
    country: str | None = None
    region: str | None = None
    created_at: str | None = None


class DeviceRole(Role):
    columns = ("id", "customer", "model", "firmware", "created_at")
    id: str | None = None
    customer: str | None = None
    model: str | None = None
    firmware: str | None = None
    created_at: str | None = None


class ConnectionEventRole(Role):
    columns = ("id", "device", "time", "kind", "error_code")
    id: str | None = None
    device: str | None = None
    time: str | None = None
    kind: str | None = None
    kinds: dict[str, str] = Field(default_factory=dict)
    error_code: str | None = None

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        for kind in value:
            if kind not in KINDS:
                raise ValueError(f"'{kind}' is not a connection kind ({', '.join(KINDS)})")
        return value

    def kind_value(self, kind: str) -> str:
        """The value the ``kind`` column stores for a canonical kind (``connect`` -> ``"ok"`` if mapped so)."""
        return self.kinds.get(kind, kind)


class TokenRole(Role):
    columns = ("id", "customer", "access_token", "refresh_token", "created_at", "revoked_at")
    id: str | None = None
    customer: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    created_at: str | None = None
    revoked_at: str | None = None


class IntegrationRole(Role):
    columns = ("id", "customer", "provider", "created_at", "unlinked_at")
    id: str | None = None
    customer: str | None = None
    provider: str | None = None
    created_at: str | None = None
    unlinked_at: str | None = None


class HealthRole(Role):
    columns = ("id", "customer", "created_at")
    id: str | None = None
    customer: str | None = None
    created_at: str | None = None


class SchemaMap(BaseModel):
    """The roles of one production schema. Build it with :meth:`reference` or :func:`load_schema_map`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer: CustomerRole | None = None
    device: DeviceRole | None = None
    connection_event: ConnectionEventRole | None = None
    token: TokenRole | None = None
    integration: IntegrationRole | None = None
    health: HealthRole | None = None

    _source: str = PrivateAttr(default="the schema map")

    @classmethod
    def reference(cls) -> SchemaMap:
        """The reference device cloud's map, shipped with dataward (the default without ``--config``)."""
        return _reference()

    @property
    def source(self) -> str:
        """Where the map came from, for messages (a file name, or "the reference schema map")."""
        return self._source

    def roles(self) -> dict[str, Role]:
        """The roles this map fills, by name."""
        return {name: role for name in ROLE_NAMES if (role := getattr(self, name)) is not None}

    def role(self, name: str, *, by: str = "this command") -> Role:
        """The role ``name``; :class:`SchemaMapError` naming it (and ``by``, who needs it) when missing."""
        if name not in ROLE_NAMES:
            raise ValueError(f"unknown role {name!r}")  # a programming error, not a user's
        found = getattr(self, name)
        if found is None:
            raise SchemaMapError(
                f"{self._source} has no '{name}' role, which {by} needs",
                tip=f"add it to the --config file, with your table and column names:\n{_example(name)}",
            )
        return found

    def table(self, role: str, *, by: str = "this command") -> str:
        """The table playing ``role``."""
        return self.role(role, by=by).table

    def require(self, role: str, column: str, *, by: str = "this command") -> tuple[str, str]:
        """``(table, column)`` playing ``column`` of ``role``; :class:`SchemaMapError` when the map lacks it."""
        found = self.role(role, by=by)
        if column not in found.columns:
            raise ValueError(f"the {role} role has no part {column!r}")  # a programming error, not a user's
        name = found.column(column)
        if name is None:
            raise SchemaMapError(
                f"{self._source} has no '{column}' column in its '{role}' role, which {by} needs",
                tip=f'add {column} = "your_column" under [schema.{role}]',
            )
        return found.table, name

    def column(self, role: str, column: str) -> str | None:
        """The column playing ``column`` of ``role``, or None (role or column absent): for optional parts."""
        found = getattr(self, role, None) if role in ROLE_NAMES else None
        return found.column(column) if isinstance(found, Role) else None

    def role_of_table(self, table: str) -> tuple[str, Role] | None:
        """The first role played by ``table``, or None when the table plays none."""
        return next(((n, r) for n, r in self.roles().items() if r.table == table), None)

    def categories_of(self, table: str, column: str) -> tuple[str, ...]:
        """The categories the map declares for ``table.column`` (empty when it declares none)."""
        for role in self.roles().values():
            if role.table == table and column in role.categories:
                return role.categories[column]
        return ()


ROLE_NAMES: Final[tuple[str, ...]] = tuple(SchemaMap.model_fields)


def load_schema_map(path: str | Path) -> SchemaMap:
    """The ``[schema]`` section of a TOML file (dataward.toml, or a file holding only ``[schema]``)."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text())
    except OSError as exc:
        raise SchemaMapError(
            f"cannot read {file} ({exc.strerror})", tip="pass --config with an existing file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemaMapError(f"{file} is not valid TOML: {exc}") from None
    return parse_schema_map(data.get("schema", {}), source=f"the schema map in {file.name}")


def parse_schema_map(section: Any, *, source: str = "the schema map") -> SchemaMap:
    """A parsed ``[schema]`` table as a :class:`SchemaMap`; a misspelt role or key is one sentence."""
    if not isinstance(section, dict):
        raise SchemaMapError(f"{source} is not a table", tip="write it as [schema.customer] ... sections")
    try:
        found = SchemaMap.model_validate(section)
    except ValidationError as exc:
        raise _translate(exc, source) from None
    found._source = source
    return found


def _translate(exc: ValidationError, source: str) -> SchemaMapError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    where = "[schema" + "".join(f".{p}" for p in loc[:-1]) + "]"
    if err["type"] == "extra_forbidden":
        key = loc[-1]
        known = _known_keys(loc[0] if len(loc) > 1 else None)
        return SchemaMapError(
            f"{source}: {where} has an unknown key '{key}'.{did_you_mean(key, known)}",
            tip=f"known keys there: {', '.join(known)}",
        )
    if err["type"] == "missing":
        return SchemaMapError(f"{source}: {where} is missing the key '{loc[-1]}'")
    message = str(err["msg"]).removeprefix("Value error, ").rstrip(".")
    return SchemaMapError(f"{source}: [schema.{'.'.join(loc)}]: {message[:1].lower()}{message[1:]}")


def _known_keys(role: str | None) -> list[str]:
    """The keys a misspelt one may have meant: role names at the top, a role's keys inside it."""
    if role is None or role not in ROLE_NAMES:
        return list(ROLE_NAMES)
    annotation = SchemaMap.model_fields[role].annotation
    model = next(
        a for a in getattr(annotation, "__args__", ()) if isinstance(a, type) and issubclass(a, Role)
    )
    return list(model.model_fields)


def _example(role: str) -> str:
    """The reference map's section for ``role`` as TOML, to show in a tip."""
    found = getattr(_reference(), role)
    lines = [f"    [schema.{role}]", f'    table = "{found.table}"']
    lines += [f'    {c} = "{found.column(c)}"' for c in found.columns if found.column(c)]
    return "\n".join(lines)


@cache
def _reference() -> SchemaMap:
    text = resources.files("dataward").joinpath(REFERENCE_FILE).read_text()
    return parse_schema_map(tomllib.loads(text)["schema"], source="the reference schema map")
