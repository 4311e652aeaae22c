"""``dataward users``: accounts of the control plane (``dataward serve``) in the state database."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dataward.cli._common import COMMANDS
from dataward.errors import DatawardError
from dataward.policy import load_policy
from dataward.serve import accounts
from dataward.state import open_state_db
from dataward.watch import config_from_policy

F = TypeVar("F", bound=Callable[..., Any])


def db_options(fn: F) -> F:
    fn = click.option("--db", "db", default=None, metavar="PATH|URL",
                      help="State database. Default: the [watch] state of --config, else watch.db.")(fn)
    return click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                        help="Policy file; its [watch] state is the database.")(fn)


def state_location(config: str | None, db: str | None) -> str:
    """``--db``, else the policy's [watch] state, else watch.db: the same database ``dataward serve`` uses."""
    return db or config_from_policy(load_policy(config) if config else None).state


def read_password() -> str:
    """From a prompt (typed twice) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return str(click.prompt("password", hide_input=True, confirmation_prompt=True, err=True))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise DatawardError("no password on stdin", tip="pipe it in: printf '%s\\n' \"$PASSWORD\" | dataward users add ...")
    return line


@click.group("users")
def users() -> None:
    """Accounts and API tokens of `dataward serve` (viewer, responder, admin)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True, help="What the user may do.")
@click.option("--one-time", "one_time", is_flag=True,
              help="You chose the password for someone else: they must change it at their first login.")
@db_options
def users_add(name: str, role: str, one_time: bool, config: str | None, db: str | None) -> None:
    """Add a user; the password comes from a prompt, or stdin when it is not a terminal (stored as Argon2id).

    \b
    Examples:
      dataward users add ana --role admin --db watch.db
      printf '%s\\n' "$PASSWORD" | dataward users add oncall --role responder --config dataward.toml
      dataward users add val --role viewer --one-time --db watch.db   # val picks a new one at first login
    """
    accounts.check_name(name)
    password = read_password()
    engine = open_state_db(state_location(config, db))
    try:
        accounts.add_user(engine, name, role, password, one_time=one_time)
    finally:
        engine.dispose()
    click.echo(f"added {name} ({role}{', one-time password' if one_time else ''})", err=True)


@users.command("password")
@click.argument("name")
@click.option("--one-time/--permanent", "one_time", default=True, show_default=True,
              help="Whether NAME must choose their own password at the next login.")
@db_options
def users_password(name: str, one_time: bool, config: str | None, db: str | None) -> None:
    """Set a user's password (a forgotten one): from a prompt, or stdin when it is not a terminal. It is one-time
    unless --permanent, and every session of the user ends; their API tokens keep working.

    \b
    Examples:
      dataward users password val --db watch.db                                # val picks a new one at next login
      printf '%s\\n' "$PASSWORD" | dataward users password ana --permanent --db watch.db
    """
    accounts.check_name(name)
    password = read_password()
    engine = open_state_db(state_location(config, db), create=False)
    try:
        accounts.set_password(engine, name, password, one_time=one_time)
    finally:
        engine.dispose()
    click.echo(f"set the password of {name}{' (one-time)' if one_time else ''}", err=True)


@users.command("list")
@db_options
def users_list(config: str | None, db: str | None) -> None:
    """List users: name, role, state, number of API tokens.

    \b
    Example:
      dataward users list --db watch.db
    """
    engine = open_state_db(state_location(config, db), create=False)
    try:
        found = accounts.list_users(engine)
    finally:
        engine.dispose()
    for u in found:
        state = "disabled" if u.disabled else "one-time password" if u.must_change else "enabled"
        click.echo(f"{u.name}\t{u.role}\t{state}\t{u.tokens} tokens\t{u.created_at}")
    if not found:
        click.echo("no users", err=True)


@users.command("disable")
@click.argument("name")
@db_options
def users_disable(name: str, config: str | None, db: str | None) -> None:
    """Disable a user: they cannot sign in, and their API tokens are deleted.

    \b
    Example:
      dataward users disable ana --db watch.db
    """
    engine = open_state_db(state_location(config, db), create=False)
    try:
        accounts.disable_user(engine, name)
    finally:
        engine.dispose()
    click.echo(f"disabled {name}", err=True)


@users.group("token")
def token() -> None:
    """API tokens (`Authorization: Bearer TOKEN`)."""


@token.command("create")
@click.argument("name")
@db_options
def token_create(name: str, config: str | None, db: str | None) -> None:
    """Create an API token for a user and print it, once (only its SHA-256 is stored).

    \b
    Example:
      dataward users token create ana --db watch.db > ana.token
    """
    engine = open_state_db(state_location(config, db), create=False)
    try:
        click.echo(accounts.create_token(engine, name))
    finally:
        engine.dispose()


COMMANDS.register(users)
