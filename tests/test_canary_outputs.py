"""Canaries over every output dataward writes: no raw customer value and no planted password, anywhere.

One small reference device cloud goes through the whole product from the real CLI (scan in every format,
classify, copy plan and run, watch and history, incident open / blast radius in every format / respond / lookup
site / audit log). Raw values of real rows (emails, names, phones, WiFi names, nicknames, tokens, password
hashes) and a password planted in a target URL are then searched for in every file written and every line
printed. The incident and watch databases are searched byte for byte.

Each command is a real ``python -m dataward`` process, forked from a helper that imported the CLI once
(``dataward.testing.cliproc``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest

from dataward.testing.cliproc import PreloadedCli

PASSWORD = "CanaryPw4zq81x"
SENSITIVE = {
    "users": ("email", "full_name", "phone", "username", "password_hash"),
    "devices": ("wifi_ssid", "nickname", "mac"),
    "api_tokens": ("access_token", "refresh_token"),
    "integrations": ("access_token", "refresh_token"),
}


def _dataward(cli: PreloadedCli, *args: str, cwd: Path, ok: tuple[int, ...] = (0, 1)) -> str:
    started = time.monotonic()
    done = cli.run(args, cwd=cwd, env={**os.environ, "COLUMNS": "200"}, timeout=300)
    assert done.returncode in ok, f"{args}: {done.stderr}"
    print(f"{time.monotonic() - started:6.1f} s  dataward {' '.join(args[:3])}")
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, dataward_cli: PreloadedCli) -> tuple[Path, str]:
    """Run the product end to end; return the folder of everything written and everything printed."""
    cli = dataward_cli
    out = tmp_path_factory.mktemp("canary")
    prod = f"duckdb://{out}/prod.duckdb"
    printed = [_dataward(cli, "generate", "--users", "150", "--seed", "5", "--out", prod, cwd=out)]
    leaky = f"redis://:{PASSWORD}@127.0.0.1:1/0"
    for fmt in ("json", "sarif", "html", "ocsf", "table"):
        printed.append(_dataward(cli, "scan", prod, leaky, "--format", fmt, "-o", f"{out}/scan.{fmt}", cwd=out))
    printed.append(_dataward(cli, "classify", prod, "--format", "json", "-o", f"{out}/classify.json", cwd=out))
    printed.append(_dataward(cli, "classify", prod, cwd=out))
    printed.append(_dataward(cli, "copy", "plan", "--from", prod, "-o", f"{out}/plan.toml", cwd=out))
    (out / "key.txt").write_text("k" * 32)
    printed.append(_dataward(cli, "copy", "run", "--from", prod, "--to", f"duckdb://{out}/copy.duckdb", "--plan",
                             f"{out}/plan.toml", "--key-file", f"{out}/key.txt", cwd=out))
    printed.append(_dataward(cli, "watch", leaky, prod, "--once", "--state", f"{out}/state.db", cwd=out))
    printed.append(_dataward(cli, "history", "--state", f"{out}/state.db", "--format", "json", cwd=out))
    db = ["--db", f"{out}/incidents.db"]
    printed.append(_dataward(cli, "incident", "open", "--name", "leak", "--store", prod, "--from", "2019-12-04",
                             "--to", "2019-12-26", *db, cwd=out))
    for fmt in ("json", "html", "table"):
        printed.append(_dataward(cli, "incident", "blast-radius", "leak", "--source", prod, "--format", fmt,
                                 "--report", f"{out}/blast.{fmt}", *db, cwd=out))
    printed.append(_dataward(cli, "incident", "blast-radius", "leak", "--source", prod, "-o", f"{out}/affected.parquet",
                             *db, cwd=out))
    (out / "playbook.toml").write_text(f'[response]\ndatabase = "{prod}"\n\n[[step]]\naction = "revoke_tokens"\n')
    printed.append(_dataward(cli, "incident", "respond", "leak", "--playbook", f"{out}/playbook.toml", "--dry-run",
                             *db, cwd=out))
    printed.append(_dataward(cli, "incident", "lookup", "build", "leak", "-o", f"{out}/site", *db, cwd=out))
    return out, "\n".join(printed)


def _canaries(prod: Path) -> set[str]:
    """Raw values of real rows of every sensitive column (a sample of each)."""
    con = duckdb.connect(str(prod), read_only=True)
    values: set[str] = {PASSWORD}
    try:
        for table, columns in SENSITIVE.items():
            have = {r[0] for r in con.execute(f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'").fetchall()}
            for column in (c for c in columns if c in have):
                rows = con.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL LIMIT 25').fetchall()
                values |= {str(r[0]) for r in rows if r[0] is not None and len(str(r[0])) >= 6}
    finally:
        con.close()
    return values


def _written(folder: Path) -> dict[str, bytes]:
    skip = {"prod.duckdb", "copy.duckdb", "key.txt", "playbook.toml", "prod.ground_truth.json"}
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name not in skip and not p.name.endswith((".wal", ".tmp"))}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_no_raw_value_or_planted_password_in_any_output(outputs: tuple[Path, str]) -> None:
    folder, printed = outputs
    canaries = _canaries(folder / "prod.duckdb")
    files = _written(folder)
    assert {"scan.sarif", "classify.json", "blast.html", "incidents.db", "state.db"} <= set(files)
    assert any(name.startswith("site/") for name in files)
    leaks = [(where, value) for value in canaries
             for where, data in [("printed", printed.encode()), *files.items()] if value.encode() in data]
    assert not leaks, f"raw values found: {leaks[:5]}"
