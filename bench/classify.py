"""Classification speed (issue 5): the pattern pass in values/s per core, side by side with Presidio's
``AnalyzerEngine.analyze`` on the same values, and the sampled classification of the reference cloud.

    flock /tmp/dataward-bench.lock .venv/bin/python bench/classify.py            # full scale
    .venv/bin/python bench/classify.py --users 20000 --full-users 20000          # quick

Also the same pattern pass over the multilingual evaluation data (issue 17: names, addresses, phones and
nicknames of 13 Faker locales), and the cost of the whole per-column decision (value statistics included).
Presidio gets a sample of both sets (English pipeline: its recognisers are English ones).

Goals: >= 1M values/s per core for the pattern pass, >= 1000x Presidio on the same values, the 2.4M-user
reference cloud classified (sampled) in under 30 s.

Presidio runs in its own environment (/tmp/bench-venv-presidio, created with ``--setup-presidio``) as a
subprocess that receives the values on stdin (they are never written to disk). spaCy's English models are not
on PyPI, so when none is installed Presidio runs with a blank spaCy pipeline: its pattern recognizers (email,
phone, card, IP, IBAN, ...) still run, its NER does not, which makes Presidio faster than in real use and
the ratio printed here conservative.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CACHE = Path("/tmp/dataward-bench")
PRESIDIO_VENV = Path("/tmp/bench-venv-presidio")
STRING_TABLES = ("users", "devices", "api_tokens", "integrations")

PRESIDIO_RUNNER = r"""
import json, sys, time
values = json.load(sys.stdin)
import spacy
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
model = "blank"
for name in ("en_core_web_sm", "en_core_web_md", "en_core_web_lg"):
    try:
        spacy.load(name); model = name; break
    except OSError:
        pass
if model == "blank":
    path = sys.argv[1]
    spacy.blank("en").to_disk(path)
    model = path
conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
engine = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
engine.analyze(text="warm up bob@example.com", language="en")
start = time.process_time()
found = sum(1 for v in values if engine.analyze(text=v, language="en"))
seconds = time.process_time() - start
print(json.dumps({"values": len(values), "seconds": seconds, "flagged": found,
                  "model": "blank (no NER)" if model == sys.argv[1] else model}))
"""


def reference_dir(users: int, seed: int) -> Path:
    """The reference cloud as a Parquet folder (bench/_data.py's cache when available)."""
    try:
        from _data import reference_parquet  # type: ignore[import-not-found]

        return Path(reference_parquet(users, seed))
    except ImportError:
        pass
    out = CACHE / f"classify-reference-{users}-{seed}"
    if (out / ".complete").exists():
        return out
    from dataward.devicecloud.generate import DeviceCloud

    out.mkdir(parents=True, exist_ok=True)
    cloud = DeviceCloud(users, seed)
    for table in ("users", "devices", "connection_events", "api_tokens", "integrations", "body_metrics"):
        writer = None
        for batch in cloud.batches(table):
            writer = writer or pq.ParquetWriter(out / f"{table}.parquet", batch.schema)
            writer.write_batch(batch)
        if writer:
            writer.close()
    (out / ".complete").write_text("ok\n")
    return out


def string_columns(folder: Path, max_values: int) -> dict[str, pa.Array]:
    """Every string column of the tables with free text, at most max_values each."""
    out: dict[str, pa.Array] = {}
    for table in STRING_TABLES:
        path = folder / f"{table}.parquet"
        if not path.exists():
            continue
        data = pq.read_table(path)
        for field in data.schema:
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                arr = data.column(field.name).combine_chunks().drop_null()
                out[f"{table}.{field.name}"] = arr.slice(0, max_values)
    return out


def pattern_pass(columns: dict[str, pa.Array], repeat: int = 3) -> tuple[int, float, float, int]:
    """values, best wall seconds, best CPU seconds and hits of one Hyperscan pass per column (compiled
    once, single thread). Best of ``repeat``: the machine is shared, the minimum is the least disturbed."""
    from dataward.classify.engine import default_matcher

    matcher = default_matcher()
    best_wall = best_cpu = float("inf")
    values = hits = 0
    for _ in range(repeat):
        values = hits = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for arr in columns.values():
            hits += len(matcher.scan(arr).row)
            values += len(arr)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return values, best_wall, best_cpu, hits


def multilingual_columns(rows: int, seed: int) -> dict[str, pa.Array]:
    """Names, addresses, phones and device nicknames of the evaluation set's thirteen Faker locales and eight
    nickname languages (tests/eval/), ``rows`` values each: the issue 17 data, for the same two measures."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from eval import faker_eval, locales_eval
    from faker import Faker

    out: dict[str, pa.Array] = {}
    for locale in faker_eval.LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for kind in ("name", "address", "phone_number", "street_address"):
            make = getattr(fake, kind)
            out[f"{locale}.{kind}"] = pa.array([str(make()).replace("\n", ", ") for _ in range(rows)])
    for obj in locales_eval.objects(seed):
        col = obj.obj.columns[0]
        if col.name == "c0":
            out[obj.obj.object] = pa.array((col.values.to_pylist() * (rows // len(col.values) + 1))[:rows])
    return out


def column_decisions(columns: dict[str, pa.Array]) -> tuple[int, float]:
    """Values and CPU seconds of the whole per-column decision (patterns, validators, value statistics such as
    the name lists and possessives), one ``classify_values`` per column of at most 2,000 values."""
    from dataward.classify.engine import classify_values

    values, cpu = 0, time.process_time()
    for name, arr in columns.items():
        part = arr.slice(0, 2000)
        classify_values(part, name)
        values += len(part)
    return values, time.process_time() - cpu


def presidio(values: list[str]) -> dict[str, object] | str:
    python = PRESIDIO_VENV / "bin" / "python"
    if not python.exists():
        return f"Presidio not measured: {PRESIDIO_VENV} missing (run with --setup-presidio)"
    proc = subprocess.run(
        [str(python), "-c", PRESIDIO_RUNNER, str(CACHE / "presidio-blank-en")], input=json.dumps(values),
        capture_output=True, text=True, timeout=1800, check=False,
    )
    if proc.returncode != 0:
        return f"Presidio not measured: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def setup_presidio() -> None:
    subprocess.run([sys.executable, "-m", "venv", str(PRESIDIO_VENV)], check=True)
    subprocess.run([str(PRESIDIO_VENV / "bin" / "pip"), "install", "-q", "presidio-analyzer"], check=True)


def full_classification(folder: Path) -> tuple[float, int, int]:
    """Seconds, objects and sensitive columns of `dataward classify file:///folder` (sampled)."""
    from dataward.classify.engine import classify_target
    from dataward.stores.base import Budget
    from dataward.targets import parse_target

    start = time.perf_counter()
    results = classify_target(parse_target(f"file://{folder}"), Budget())
    seconds = time.perf_counter() - start
    sensitive = sum(1 for r in results for c in r.columns if c.categories)
    return seconds, len(results), sensitive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=240_000, help="users of the cloud whose strings are scanned")
    parser.add_argument("--values", type=int, default=1_000_000, help="values per column at most")
    parser.add_argument("--presidio-values", type=int, default=300, help="values Presidio analyses")
    parser.add_argument("--full-users", type=int, default=2_400_000, help="users of the sampled full run (0: skip)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--multilingual", type=int, default=20_000,
                        help="values per column of the 13-locale names/addresses/phones/nicknames set (0: skip)")
    parser.add_argument("--setup-presidio", action="store_true", help=f"create {PRESIDIO_VENV} first")
    args = parser.parse_args()
    if args.setup_presidio:
        setup_presidio()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    folder = reference_dir(args.users, args.seed)
    columns = string_columns(folder, args.values)
    from dataward.classify.engine import default_matcher

    t0 = time.perf_counter()
    default_matcher()
    print(f"matcher: {len(default_matcher().patterns)} patterns compiled in {time.perf_counter() - t0:.2f} s")
    values, seconds, cpu, hits = pattern_pass(columns)
    rate = values / cpu
    print(f"pattern pass: {values:,} values in {len(columns)} string columns, {cpu:.2f} s CPU ({seconds:.2f} s wall), "
          f"{rate:,.0f} values/s per core ({values / seconds:,.0f} wall; {hits:,} candidate hits)  "
          f"goal >= 1,000,000: {'met' if rate >= 1e6 else 'NOT met'}")

    decided, decide_cpu = column_decisions(columns)
    print(f"column decisions (reference cloud): {decided:,} values in {decide_cpu:.2f} s CPU, "
          f"{decided / decide_cpu:,.0f} values/s per core")
    if args.multilingual:
        world = multilingual_columns(args.multilingual, args.seed)
        w_values, w_wall, w_cpu, w_hits = pattern_pass(world)
        print(f"pattern pass (13 locales, names/addresses/phones/nicknames): {w_values:,} values in {len(world)} "
              f"columns, {w_values / w_cpu:,.0f} values/s per core  goal >= 1,000,000: "
              f"{'met' if w_values / w_cpu >= 1e6 else 'NOT met'}")
        w_decided, w_decide_cpu = column_decisions(world)
        print(f"column decisions (13 locales): {w_decided:,} values in {w_decide_cpu:.2f} s CPU, "
              f"{w_decided / w_decide_cpu:,.0f} values/s per core")
        columns = {**columns, **world}

    rng = np.random.default_rng(args.seed)
    pool = [v for arr in columns.values() for v in arr.slice(0, 2000).to_pylist()]
    picks = [pool[i] for i in rng.choice(len(pool), min(args.presidio_values, len(pool)), replace=False)]
    theirs = presidio(picks) if picks else "Presidio not measured: --presidio-values 0"
    if isinstance(theirs, str):
        print(theirs)
    else:
        p_rate = float(theirs["values"]) / float(theirs["seconds"])  # type: ignore[arg-type]
        print(f"presidio ({theirs['model']}): {theirs['values']} values in {float(theirs['seconds']):.2f} s, "  # type: ignore[arg-type]
              f"{p_rate:,.0f} values/s per core (CPU time)")
        print(f"ratio: {rate / p_rate:,.0f}x Presidio  goal >= 1000x: {'met' if rate / p_rate >= 1000 else 'NOT met'}")

    if args.full_users:
        full = reference_dir(args.full_users, args.seed)
        secs, objects, sensitive = full_classification(full)
        print(f"full reference cloud ({args.full_users:,} users, sampled): {objects} tables, {sensitive} sensitive "
              f"columns in {secs:.2f} s  goal < 30 s: {'met' if secs < 30 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
