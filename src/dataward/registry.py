"""One registry type for every plugin family (store kinds, table kinds, detectors, exposure rules, policy rules,
report formats, alert sinks, response actions, cloud providers).

A family is a package with one module per member; a member registers itself by being defined (a class
decorator or a function decorator), and the registry imports the package's modules the first time it is asked
for its members, so nothing else lists them::

    STORES: Registry[type[Store]] = Registry("store kind", package="dataward.stores", key=lambda c: c.scheme)

    @STORES.register
    class RedisStore: ...

    STORES.get("redis")     # -> RedisStore; a misspelt name is a DatawardError with "Did you mean …?"
    STORES.names()          # the CLI's choices come from here

A member may answer to more than one name (``aliases``, e.g. ``mysql`` and ``mariadb``): ``names()`` lists the
primary names only, ``get`` accepts either. ``items()`` and iteration keep registration order (rules are
evaluated in the order their modules define them); ``names()`` is sorted.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar, cast

from dataward.errors import DatawardError, TargetError
from dataward.suggest import did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Members of one plugin family, by name.

    ``family`` is how an error names the family ("store kind", "report format"); ``package`` is the dotted
    package whose modules define the members (modules whose names start with ``_``, ``base`` and those in
    ``skip`` are not loaded: they hold shared helpers); ``key`` gives a member's primary name and ``aliases``
    its other names. ``unknown`` and ``tip`` shape the error for a name no member answers to (``{name}``,
    ``{family}`` and ``{known}`` are filled in).
    """

    def __init__(
        self,
        family: str,
        *,
        key: Callable[[T], str],
        package: str | None = None,
        aliases: Callable[[T], Iterable[str]] | None = None,
        error: type[DatawardError] = DatawardError,
        unknown: str = "'{name}' is not a {family} dataward knows.",
        tip: str = "known: {known}",
        skip: Iterable[str] = (),
    ) -> None:
        self.family = family
        self.package = package
        self._key = key
        self._aliases = aliases
        self._error = error
        self._unknown = unknown
        self._tip = tip
        self._skip = frozenset(skip)
        self._members: dict[str, T] = {}
        self._by_alias: dict[str, T] = {}
        self._loaded = package is None
        self._loading = False
        self._lock = threading.RLock()  # discovery asks from many threads at once

    def register(self, member: T) -> T:
        """Add a member (usable as a class or function decorator); a second member with the same name is a bug."""
        name = self._key(member)
        existing = self._members.get(name)
        if existing is not None and existing is not member and _qualname(existing) != _qualname(member):
            raise ValueError(f"{self.family} {name!r} is registered twice ({_qualname(existing)}, {_qualname(member)})")
        self._members[name] = member
        for alias in self._aliases(member) if self._aliases else ():
            self._by_alias[alias] = member
        return member

    def get(self, name: str) -> T:
        """The member called ``name`` (or one of its aliases); otherwise an error with "Did you mean …?"."""
        found = self.find(name)
        if found is None:
            known = self.names()
            message = self._unknown.format(name=name, family=self.family)
            raise self._error(
                message + did_you_mean(name, known + list(self._by_alias)),
                tip=self._tip.format(known=", ".join(known)) if known else None,
            )
        return found

    def find(self, name: str) -> T | None:
        """The member called ``name`` (or one of its aliases), or None."""
        self.load()
        return self._members.get(name) or self._by_alias.get(name)

    def find_named(self, name: str) -> T | None:
        """Like ``find``, importing only the package's module called ``name`` first (for a family whose modules
        are named after their members, as the CLI's commands are), so asking for one member does not import the
        others; the whole package loads only when that module does not hold it."""
        if not self._loaded and self.package and self._may_be_module(name):
            module = f"{self.package}.{name}"
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
            found = self._members.get(name) or self._by_alias.get(name)
            if found is not None:
                return found
        return self.find(name)

    def _may_be_module(self, name: str) -> bool:
        return name.isidentifier() and not name.startswith("_") and name != "base" and name not in self._skip

    def names(self) -> list[str]:
        """Primary names, sorted (the CLI's choices)."""
        self.load()
        return sorted(self._members)

    def all_names(self) -> list[str]:
        """Primary names and aliases, sorted (what ``get`` accepts)."""
        self.load()
        return sorted({*self._members, *self._by_alias})

    def items(self) -> list[tuple[str, T]]:
        """(primary name, member) pairs, in registration order."""
        self.load()
        return list(self._members.items())

    def members(self) -> list[T]:
        """Members, in registration order."""
        return [member for _, member in self.items()]

    def __iter__(self) -> Iterator[T]:
        return iter(self.members())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __len__(self) -> int:
        self.load()
        return len(self._members)

    def load(self) -> None:
        """Import every module of the family's package once, so each member has registered itself.

        Another thread waits until every member is in; a module that asks its own registry while it is being
        imported (same thread) gets the members registered so far. A failed import is retried next time.
        """
        if self._loaded or self.package is None:
            return
        with self._lock:
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                package = importlib.import_module(self.package)
                for module in pkgutil.iter_modules(package.__path__):
                    if not module.name.startswith("_") and module.name != "base" and module.name not in self._skip:
                        importlib.import_module(f"{self.package}.{module.name}")
                self._loaded = True
            finally:
                self._loading = False

    def __repr__(self) -> str:
        return f"Registry({self.family!r}, package={self.package!r})"


def scheme_registry(family: str, package: str, *, key: Callable[[T], str], unknown: str, tip: str) -> Registry[T]:
    """A family whose members answer to URL schemes (their ``schemes``: store kinds, table kinds): a URL whose
    scheme no member speaks is a TargetError."""
    return Registry(family, package=package, key=key, aliases=lambda member: cast(Any, member).schemes,
                    error=TargetError, unknown=unknown, tip=tip)


def _qualname(member: object) -> str:
    return f"{getattr(member, '__module__', '?')}.{getattr(member, '__qualname__', repr(member))}"
