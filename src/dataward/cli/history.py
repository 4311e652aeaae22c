"""``dataward history``: the exposure windows the watcher recorded, as sentences or dataward.history/v1 JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dataward.cli._common import COMMANDS, write_output
from dataward.errors import DatawardError
from dataward.policy import load_policy
from dataward.suggest import did_you_mean
from dataward.watch import config_from_policy
from dataward.watch.history import history_json, history_lines


@click.command("history")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Policy file; its [watch] state is used.")
@click.option("--state", default=None, metavar="PATH|URL", help="State database of the watcher. Default: watch.db.")
@click.option("--store", "store", default=None, metavar="NAME", help="Only this store's windows.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Sentences per exposure window, or dataward.history/v1 JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write to FILE (atomically) instead of stdout.")
def history_command(config: str | None, state: str | None, store: str | None, fmt: str, output: str | None) -> None:
    """Print the exposure windows per store: when it opened, when it closed, what it held.

    \b
    Examples:
      dataward history --state watch.db
      dataward history --config dataward.toml --store analytics-copy --format json -o window.json
    """
    location = state or config_from_policy(load_policy(config) if config else None).state
    if "://" not in location and not Path(location).is_file():
        raise DatawardError(f"there is no watch history at {location}",
                            tip="run `dataward watch` first, or pass --state with the watcher's database")
    doc = history_json(location)
    if store is not None:
        known = sorted({w["store"] for w in doc["windows"]})
        if store not in known:
            raise DatawardError(f"the history has no windows for store '{store}'.{did_you_mean(store, known)}",
                                tip=f"stores with windows: {', '.join(known) or 'none'}")
        doc["windows"] = [w for w in doc["windows"] if w["store"] == store]
        doc["store_windows"] = [w for w in doc["store_windows"] if w["store"] == store]
    if fmt == "json":
        write_output(json.dumps(doc, indent=2) + "\n", output)
        return
    lines = history_lines(doc) or ["no exposure windows recorded"]
    write_output("\n".join(lines) + "\n", output)


COMMANDS.register(history_command)
