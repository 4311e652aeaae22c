"""Reading dataward.toml: TOML syntax, then the models, then names; every failure is one sentence.

Secrets are read through ``{env = "NAME"}`` / ``{file = "path"}`` (config_values.py); a URL with a password
written into the file itself still works but earns a warning on stderr.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dataward.categories import CATEGORIES, Tier
from dataward.config_values import is_inline_secret, resolve_value
from dataward.errors import ConfigError
from dataward.policy.model import (
    CONTROLS,
    ROLES,
    AlertConfig,
    Policy,
    Residency,
    RolePolicy,
    ScanSettings,
    StoreConfig,
)
from dataward.schemamap import parse_schema_map
from dataward.suggest import did_you_mean
from dataward.targets import parse_target

Warn = Callable[[str], None]
LinePath = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r'^\s*("[^"]+"|[A-Za-z0-9_\-]+)\s*=')


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_policy(path: str | Path, *, warn: Warn = _stderr_warning) -> Policy:
    """Read and check a policy file; raise ConfigError with one sentence (and a tip) when it cannot be used."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the policy file {file} ({exc.strerror})", tip="pass --config with an existing file"
        ) from exc
    except UnicodeDecodeError:
        raise ConfigError(f"the policy file {file} is not UTF-8 text", tip="save it as UTF-8 TOML") from None
    return parse_policy(text, source=str(path), base_dir=file.parent, warn=warn)


def parse_policy(
    text: str, *, source: str = "dataward.toml", base_dir: Path | None = None, warn: Warn = _stderr_warning
) -> Policy:
    """Parse policy text (the file's content); ``source`` names it in messages and policy references."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    lines = line_map(text)
    if "schema" in data:  # its own loader names a misspelt role or column
        data["schema"] = parse_schema_map(data["schema"], source=f"the schema map in {source}")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, data, lines, source) from None
    _check_names(policy, lines, source)
    policy._source = source
    policy._lines = lines
    policy._urls = _resolve_urls(policy, lines, source, base_dir, warn)
    return policy


def line_map(text: str) -> dict[LinePath, int]:
    """(table..., key) -> line number, with ``[[x]]`` tables counted (('store', 0, 'owner') -> 7)."""
    out: dict[LinePath, int] = {}
    counts: dict[str, int] = {}
    current: LinePath = ()
    for number, raw in enumerate(text.splitlines(), 1):
        header = _HEADER.match(raw)
        if header:
            name = header.group(2)
            parts: list[str | int] = [p.strip().strip('"') for p in name.split(".")]
            if header.group(1) == "[[":
                parts.append(counts.get(name, 0))
                counts[name] = counts.get(name, 0) + 1
            current = tuple(parts)
            out.setdefault(current, number)
            continue
        key = _KEY.match(raw)
        if key:
            out.setdefault((*current, key.group(1).strip('"')), number)
    return out


def _where(
    loc: Sequence[str | int],
    data: dict[str, Any],
    lines: dict[LinePath, int],
    source: str,
    line_loc: Sequence[str | int] | None = None,
) -> str:
    """'dataward.toml:7: store 'analytics-copy'' — the file, line and a readable name of a location."""
    line = None
    line_loc = loc if line_loc is None else line_loc
    for n in range(len(line_loc), 0, -1):
        line = lines.get(tuple(line_loc[:n]))
        if line:
            break
    prefix = f"{source}:{line}" if line else source
    if loc and loc[0] == "store" and len(loc) > 1 and isinstance(loc[1], int):
        stores = data.get("store") or []
        name = stores[loc[1]].get("name") if loc[1] < len(stores) and isinstance(stores[loc[1]], dict) else None
        label = f"[[store]] '{name}'" if name else f"[[store]] number {loc[1] + 1}"
        rest = [str(p) for p in loc[2:]]
        return f"{prefix}: {label}" + (f" key '{'.'.join(rest)}'" if rest else "")
    shown = ".".join(str(p) for p in loc if p != "[key]")
    return f"{prefix}: '{shown}'" if shown else prefix


def _model_at(loc: Sequence[str | int]) -> type[BaseModel]:
    """The model a location's keys belong to, for suggesting the right key names."""
    head = loc[0] if loc else None
    table: dict[str | int | None, type[BaseModel]] = {
        "store": StoreConfig,
        "role": RolePolicy,
        "residency": Residency,
        "scan": ScanSettings,
        "alert": AlertConfig,
    }
    return table.get(head, Policy) if loc else Policy


def _translate(exc: ValidationError, data: dict[str, Any], lines: dict[LinePath, int], source: str) -> ConfigError:
    """The first pydantic error as one sentence a person can act on."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        fields = list(_model_at(loc[:-1]).model_fields)
        where = _where(loc[:-1], data, lines, source, line_loc=loc)
        return ConfigError(
            f"{where} has an unknown key '{key}'.{did_you_mean(key, fields)}",
            tip=f"known keys there: {', '.join(fields)}",
        )
    if kind == "literal_error" and ("role" in loc):
        value = str(err.get("input"))
        if loc[-1] == "[key]":
            loc = loc[:-1]
        return ConfigError(
            f"{_where(loc, data, lines, source)}: policy role '{value}' is not known.{did_you_mean(value, ROLES)}",
            tip=f"roles are {', '.join(ROLES)}",
        )
    if kind == "missing":
        return ConfigError(f"{_where(loc[:-1], data, lines, source)} is missing the key '{loc[-1]}'")
    got = err.get("input")
    shown = f" (got {type(got).__name__})" if not isinstance(got, str | int | float) else f" (got '{got}')"
    if loc and loc[-1] == "url":
        shown = ""  # never echo a URL that may carry a password
    message = str(err["msg"]).rstrip(".")
    message = message[:1].lower() + message[1:]
    if kind.startswith(("date", "datetime")):
        message = "must be a date written like 2026-01-31 (a TOML date, without quotes)"
    return ConfigError(f"{_where(loc, data, lines, source)}: {message}{shown}")


def _check_names(policy: Policy, lines: dict[LinePath, int], source: str) -> None:
    """Tiers, category ids, controls and store names: misspellings stop here with a suggestion."""
    names = [*CATEGORIES, *(t.value for t in Tier)]
    for role, rp in policy.role.items():
        for word in rp.forbid:
            if word not in names:
                line = lines.get(("role", role, "forbid"))
                raise ConfigError(
                    f"{source}:{line}: role '{role}' forbids '{word}', which is neither a tier nor a category"
                    f".{did_you_mean(word, names)}",
                    tip=f"tiers are {', '.join(t.value for t in Tier)}; categories are listed in docs/policy.md",
                )
        for word in rp.require:
            if word.replace("-", "_") not in CONTROLS:
                line = lines.get(("role", role, "require"))
                raise ConfigError(
                    f"{source}:{line}: role '{role}' requires '{word}', which is not a control dataward checks"
                    f".{did_you_mean(word, CONTROLS)}",
                    tip=f"controls are {', '.join(CONTROLS)}",
                )
    seen: set[str] = set()
    for i, store in enumerate(policy.store):
        if store.name in seen:
            raise ConfigError(f"{source}:{lines.get(('store', i, 'name'))}: two [[store]] tables are named '{store.name}'")
        seen.add(store.name)


def _resolve_urls(
    policy: Policy, lines: dict[LinePath, int], source: str, base_dir: Path | None, warn: Warn
) -> dict[str, str]:
    """Store name -> URL with secrets read from the environment or files; a warning for inline passwords."""
    urls: dict[str, str] = {}
    for i, store in enumerate(policy.store):
        line = lines.get(("store", i, "url"))
        if is_inline_secret(store.url):
            warn(
                f"{source}:{line}: store '{store.name}' has a password written in its url; "
                'use url = {env = "NAME"} or {file = "path"} instead'
            )
        url = resolve_value(store.url, f"store '{store.name}' url", base_dir)
        parse_target(url, name=store.name)  # a malformed URL is a config error now, not mid-scan
        urls[store.name] = url
    return urls
