"""Every plugin registry, walked: each member is documented (its row in the family's docs/*.md) and tested (its
name appears in some tests/ file), and the facts the rest of the code asks a kind for are on its class.

Then the Registry type itself: names, aliases, "Did you mean …?", registration order, a concurrent first load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from dataward.classify.base import DETECTORS
from dataward.cli._common import COMMANDS
from dataward.errors import DatawardError
from dataward.exposure.base import RULES
from dataward.incident.actions.base import ACTIONS
from dataward.incident.obligations import OBLIGATIONS
from dataward.inventory.base import PROVIDERS
from dataward.inventory.rules import CLOUD_RULES
from dataward.policy.rules import POLICY_RULES
from dataward.registry import Registry
from dataward.report.base import FORMATS
from dataward.stores.base import STORES
from dataward.tables.base import TABLES
from dataward.watch.alerts.base import SINKS

ROOT = Path(__file__).resolve().parent.parent

Forms = Callable[[str, Any], list[str]]  # (name, member) -> strings of which one must appear


@dataclass(frozen=True)
class Family:
    registry: Registry[Any]
    doc: str  # docs/<doc>
    documented: Forms
    tested: Forms


def _module(member: Any) -> str:
    return str(getattr(member, "__module__", "")).rsplit(".", 1)[-1]


def _short(rule_id: str) -> str:
    return rule_id.split(".", 1)[1]


FAMILIES = {
    "stores": Family(
        STORES,
        "exposure.md",
        lambda n, _: [f"| `{n}` |"],
        lambda n, cls: [f"{n}://", f"test_exposure_{_module(cls)}"],
    ),
    "tables": Family(TABLES, "tables.md", lambda n, _: [f"`{n}://"], lambda n, _: [f"{n}://"]),
    "formats": Family(FORMATS, "scan.md", lambda n, _: [f"**{n}**"], lambda n, _: [f'"{n}"']),
    "exposure rules": Family(
        RULES, "exposure.md", lambda n, _: [f"`{n}`", f"`{_short(n)}`"], lambda n, _: [f"{_short(n)}"]
    ),
    "policy rules": Family(POLICY_RULES, "policy.md", lambda n, _: [f"`{n}`"], lambda n, _: [n]),
    "detectors": Family(
        DETECTORS,
        "classify.md",
        lambda n, cls: [f"`{n}` | `{cls.category}`"],
        lambda n, cls: [f"test_detectors_{_module(cls)}", n],
    ),
    "alert sinks": Family(SINKS, "watch.md", lambda n, cls: [f"`{_module(cls)}.py`"], lambda n, _: [f"{n}:", n]),
    "response actions": Family(ACTIONS, "incident.md", lambda n, _: [f"`{n}`"], lambda n, _: [n]),
    "obligation rules": Family(OBLIGATIONS, "incident.md", lambda n, _: [f"`{n}`"], lambda n, _: [n]),
    "cloud providers": Family(
        PROVIDERS, "inventory.md", lambda n, _: [f"dataward inventory {n}"], lambda n, _: [f"test_inventory_{n}"]
    ),
    "cloud rules": Family(CLOUD_RULES, "inventory.md", lambda n, _: [f"`aws.<kind>.{n}`"], lambda n, _: [f".{n}\""]),
    "commands": Family(COMMANDS, "cli.md", lambda n, _: [f"## `dataward {n}`"], lambda n, _: [f'"{n}"']),
}
MEMBERS = [(family, name) for family, f in FAMILIES.items() for name in f.registry.names()]


@cache
def _tests_text() -> str:
    """Every test module's name and text, helpers and fixture files too, except this one."""
    files = [p for p in (ROOT / "tests").rglob("*") if p.is_file() and p.suffix in (".py", ".toml", ".json", ".yaml")]
    files = [p for p in files if p.name != Path(__file__).name]
    return "\n".join([*(p.name for p in files), *(p.read_text(errors="replace") for p in files)])


@pytest.mark.parametrize("family, name", MEMBERS, ids=[f"{f}:{n}" for f, n in MEMBERS])
def test_every_member_is_documented_and_tested(family: str, name: str) -> None:
    f = FAMILIES[family]
    member = f.registry.get(name)
    doc = (ROOT / "docs" / f.doc).read_text()
    assert any(form in doc for form in f.documented(name, member)), f"{family} '{name}' has no row in docs/{f.doc}"
    tests = _tests_text()
    assert any(form in tests for form in f.tested(name, member)), f"{family} '{name}' is named in no tests/ file"


def test_every_family_has_members() -> None:
    assert {family: len(f.registry) > 0 for family, f in FAMILIES.items()} == dict.fromkeys(FAMILIES, True)


def test_every_command_module_registers_its_command() -> None:
    """A cli module that only assigns its command somewhere (the old ``COMMAND = ...``) would not be a command."""
    import pkgutil

    import dataward.cli as pkg

    modules = {m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")}
    registered = {str(c.callback.__module__).rsplit(".", 1)[-1] for c in COMMANDS if c.callback is not None}
    assert modules <= registered, f"cli modules without a registered command: {sorted(modules - registered)}"


GENERIC_RULES = {r.name for r in RULES if r.per_kind}


@pytest.mark.parametrize("name", STORES.names())
def test_every_store_kind_states_its_facts(name: str) -> None:
    """What exposure rules, policy rules and copies ask about a kind is on its class, not in a table elsewhere."""
    cls = STORES.get(name)
    assert isinstance(cls.local, bool), name
    assert isinstance(cls.listens, bool), name
    assert not (cls.local and cls.listens), f"{name}: files on disk have no listen address"
    assert isinstance(cls.display_name, str) and cls.display_name, name
    assert set(cls.remediation) <= GENERIC_RULES, f"{name}: fixes for rules that do not exist"
    assert not (cls.local and cls.remediation), f"{name}: a local kind has no networked rule to fix"


@pytest.mark.parametrize("name", ACTIONS.names())
def test_every_action_says_what_it_did_in_a_notice(name: str) -> None:
    """notify.py prints each action's notice_text; an action without one would vanish from notices."""
    cls = ACTIONS.get(name)
    assert isinstance(getattr(cls, "notice_text", None), str) and cls.notice_text.strip(), name
    assert cls.notice_text.endswith("."), name
    assert isinstance(getattr(cls, "notice_order", None), int), name


def test_notice_order_is_a_total_order() -> None:
    orders = [cls.notice_order for cls in ACTIONS]
    assert len(set(orders)) == len(orders)


# ---- the Registry type ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    aliases: tuple[str, ...] = ()


def _registry() -> Registry[_Kind]:
    return Registry("widget kind", key=lambda k: k.name, aliases=lambda k: k.aliases)


def test_get_accepts_names_and_aliases_and_lists_primary_names_sorted() -> None:
    reg = _registry()
    pg, redis = reg.register(_Kind("postgresql", ("postgres",))), reg.register(_Kind("redis"))
    assert reg.get("postgres") is pg and reg.get("redis") is redis and reg.find("nope") is None
    assert reg.names() == ["postgresql", "redis"] and reg.all_names() == ["postgres", "postgresql", "redis"]
    assert "postgres" in reg and "nope" not in reg and len(reg) == 2


def test_items_keep_registration_order() -> None:
    reg = _registry()
    for name in ("b", "c", "a"):
        reg.register(_Kind(name))
    assert [name for name, _ in reg.items()] == ["b", "c", "a"]


def test_an_unknown_name_suggests_the_closest() -> None:
    reg = _registry()
    reg.register(_Kind("postgresql", ("postgres",)))
    with pytest.raises(DatawardError, match=r"'postgress' is not a widget kind dataward knows\. Did you mean 'postgres'\?"):
        reg.get("postgress")


def test_a_second_member_under_one_name_is_a_bug() -> None:
    reg = _registry()
    reg.register(_Kind("redis"))
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(_Kind("redis", ("rediss",)))


def test_an_unknown_store_scheme_names_the_kinds() -> None:
    with pytest.raises(DatawardError) as info:
        STORES.get("postgress")
    assert str(info.value) == "'postgress://' is not a store kind dataward knows. Did you mean 'postgres'?"


def test_a_thread_asking_during_the_first_load_waits_for_every_member(tmp_path: Path, monkeypatch: Any) -> None:
    """Discovery asks the store registry from many threads: none may see a family half imported."""
    (tmp_path / "famgate.py").write_text(
        "import threading\nfrom dataward.registry import Registry\n"
        "ENTERED, GATE = threading.Event(), threading.Event()\n"
        "REG = Registry('thing', package='fam', key=str)\n"
    )
    (tmp_path / "fam").mkdir()
    (tmp_path / "fam" / "__init__.py").write_text("")
    (tmp_path / "fam" / "a.py").write_text("from famgate import REG\nREG.register('a')\n")
    (tmp_path / "fam" / "b.py").write_text(
        "from famgate import ENTERED, GATE, REG\nENTERED.set()\nGATE.wait(30)\nREG.register('b')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import famgate  # type: ignore[import-not-found]

    seen: list[list[str]] = []
    first = threading.Thread(target=lambda: seen.append(famgate.REG.names()))
    first.start()
    assert famgate.ENTERED.wait(30)  # the first thread is inside the package's import now
    second = threading.Thread(target=lambda: seen.append(famgate.REG.names()))
    second.start()
    second.join(timeout=0.2)
    assert second.is_alive()  # waiting for the load, not answering with 'a' alone
    famgate.GATE.set()
    for t in (first, second):
        t.join(timeout=30)
    assert seen == [["a", "b"], ["a", "b"]]
    for name in ("famgate", "fam", "fam.a", "fam.b"):
        monkeypatch.delitem(__import__("sys").modules, name, raising=False)
