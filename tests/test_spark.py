"""The Spark engine gives the local engine's answers: pseudonyms byte for byte, the same copied rows, the same
refusals. One SparkSession (``local[2]``) for the whole run: starting the JVM is the slow part.

Skipped, with the reason printed, only when PySpark or Java is missing (``make test`` installs both).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dataward.cli import cli
from dataward.copy import transforms as tf
from dataward.copy.plan import ColumnPlan, Plan, TablePlan, dump_plan
from dataward.copy.run import PlanMismatch
from dataward.errors import ConfigError, DatawardError
from dataward.spark.session import java_found

if importlib.util.find_spec("pyspark") is None:
    pytest.skip("PySpark is not installed (pip install 'dataward[spark]')", allow_module_level=True)
if not java_found():
    pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)", allow_module_level=True)

from pyspark.sql import SparkSession

from dataward.spark import apply_plan, spark_session
from dataward.spark.io import JDBC_JARS

KEY = tf.PseudonymKey(b"spark-test-key-0123456789")
PG_JAR = Path(JDBC_JARS["postgresql"][0])
MARIADB_JAR = Path(JDBC_JARS["mysql"][0])


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    conf = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"}
    # the JDBC drivers go on the classpath when the JVM starts: one session serves every JDBC test
    session = spark_session("local[2]", conf, [str(jar) for jar in (PG_JAR, MARIADB_JAR) if jar.exists()])
    yield session
    session.stop()


@pytest.fixture(scope="session")
def device_cloud(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference device cloud (``dataward generate``) as a folder of Parquet files, and its plan."""
    where = tmp_path_factory.mktemp("spark-cloud")
    runner = CliRunner()
    result = runner.invoke(cli, ["generate", "--users", "400", "--seed", "5", "--out", f"file://{where}/prod"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["copy", "plan", "--from", f"file://{where}/prod", "-o", str(where / "plan.toml")])
    assert result.exit_code == 0, result.output
    return where


def test_pseudonyms_equal_the_local_engine_byte_for_byte(spark: SparkSession) -> None:
    from dataward.spark.compile import col, pseudonym

    rng = np.random.default_rng(3)
    n = 200
    columns = {
        "big": pa.array([0, 1, -1, 2**63 - 1, -(2**63), None, *rng.integers(-(2**62), 2**62, n - 6).tolist()], pa.int64()),
        "small": pa.array(rng.integers(-(2**31), 2**31 - 1, n), pa.int32()),
        "text": pa.array(["", "a@b.com", "é ü 😀", "x\x1fy", "line\nbreak", None, *[f"user{i}@example.com" for i in range(n - 6)]]),
    }
    df = spark.createDataFrame(pa.table(columns).to_pylist(), "big bigint, small int, text string")
    types = {f.name: f.dataType for f in df.schema.fields}
    domains = {"big": "users", "small": "devices", "text": "email"}
    rows = df.select(*[pseudonym(col(c), types[c], KEY, d).alias(c) for c, d in domains.items()]).collect()
    for c, domain in domains.items():
        assert [r[c] for r in rows] == tf.pseudonymize(columns[c], KEY, domain).to_pylist(), c
    assert rows[1]["text"] == tf.reference_hmac(KEY, "email", "a@b.com")[:32]


def test_the_key_never_shows_in_the_query_plan(spark: SparkSession) -> None:
    df = spark.createDataFrame([("a@b.com",)], "email string")
    plan = Plan(tables={"t": TablePlan(columns={"email": ColumnPlan(action="pseudonymize", domain="email")})})
    out = apply_plan({"t": df}, plan, KEY)["t"]
    text = out._jdf.queryExecution().toString()
    ipad, opad = KEY.pads()
    assert ipad.hex().upper() not in text.upper() and opad.hex().upper() not in text.upper()


def test_apply_plan_refuses_like_the_local_engine(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "a@b.com", "x")], "id bigint, email string, secret_answer string")
    plan = Plan(tables={"t": TablePlan(columns={
        "id": ColumnPlan(action="pseudonymize", domain="t"), "email": ColumnPlan(action="drop"),
    })})  # fmt: skip
    with pytest.raises(PlanMismatch, match=r"t\.secret_answer"):
        apply_plan({"t": df}, plan, KEY)
    with pytest.raises(ConfigError, match="no key"):
        apply_plan({"t": df.drop("secret_answer")}, plan, None)
    qi = Plan(tables={"t": TablePlan(columns={
        "id": ColumnPlan(action="drop"), "email": ColumnPlan(action="keep", qi=True), "secret_answer": ColumnPlan(action="drop"),
    })})  # fmt: skip
    with pytest.raises(DatawardError, match="not 5-anonymous"):
        apply_plan({"t": df}, qi, KEY, k_mode="refuse")


def _rows(folder: Path, table: str) -> list[tuple]:
    """A copied table as sorted rows, whether one Parquet file (local) or a folder of parts (Spark)."""
    path = folder / f"{table}.parquet"
    return _sorted_rows(pads.dataset(path if path.exists() else folder / table, format="parquet").to_table())


def _copy(device_cloud: Path, engine: str, dest: str, *extra: str) -> object:
    args = ["copy", "run", "--engine", engine, "--from", f"file://{device_cloud}/prod", "--to", dest,
            "--plan", str(device_cloud / "plan.toml"), "--format", "json", *extra]  # fmt: skip
    return CliRunner().invoke(cli, args, env={"DATAWARD_PSEUDONYM_KEY": KEY.secret.decode()})


@pytest.mark.slow
def test_spark_copy_equals_the_local_copy(spark: SparkSession, device_cloud: Path) -> None:
    local = _copy(device_cloud, "local", f"file://{device_cloud}/local", "--k", "3")
    assert local.exit_code == 0, local.output
    remote = _copy(device_cloud, "spark", f"file://{device_cloud}/spark", "--k", "3", "--spark-master", "local[2]")
    assert remote.exit_code == 0, remote.output
    lm, sm = json.loads(local.output)["manifest"], json.loads(remote.output)["manifest"]
    assert sm["key_id"] == lm["key_id"] and sm["plan_hash"] == lm["plan_hash"]
    assert sm["tables"] == lm["tables"]
    assert any(t["suppressed"] for t in lm["tables"].values()), "the plan should exercise k-anonymity"
    for table, copied in lm["tables"].items():
        if copied.get("skipped"):
            assert not (device_cloud / "spark" / table).exists()
            continue
        assert _rows(device_cloud / "spark", table) == _rows(device_cloud / "local", table), table
    manifest = json.loads((device_cloud / "spark" / "_dataward_manifest.json").read_text())
    assert manifest["tables"] == lm["tables"]


@pytest.mark.slow
def test_spark_copy_refuses_what_the_local_engine_refuses(spark: SparkSession, device_cloud: Path) -> None:
    for extra in (["--k", "50", "--k-mode", "refuse"],):
        local = _copy(device_cloud, "local", f"file://{device_cloud}/refused-local", *extra)
        remote = _copy(device_cloud, "spark", f"file://{device_cloud}/refused-spark", *extra)
        assert local.exit_code == remote.exit_code == 2
        assert remote.output.splitlines()[0] == local.output.splitlines()[0]
        assert not (device_cloud / "refused-spark").exists()
    plan = (device_cloud / "plan.toml").read_text()
    drifted = device_cloud / "drifted.toml"
    drifted.write_text(plan.replace("[tables.users.columns.email]", "[tables.users.columns.emial]"))
    args = ["copy", "run", "--engine", "spark", "--from", f"file://{device_cloud}/prod", "--to",
            f"file://{device_cloud}/drift", "--plan", str(drifted)]  # fmt: skip
    result = CliRunner().invoke(cli, args, env={"DATAWARD_PSEUDONYM_KEY": KEY.secret.decode()})
    assert result.exit_code == 2 and "users.email" in result.output and "Traceback" not in result.output
    unsafe = device_cloud / "unsafe"
    unsafe.mkdir(mode=0o777)
    unsafe.chmod(0o777)
    local = _copy(device_cloud, "local", f"file://{unsafe}")
    remote = _copy(device_cloud, "spark", f"file://{unsafe}")
    assert local.exit_code == remote.exit_code == 2
    assert remote.output.splitlines()[0] == local.output.splitlines()[0]
    assert list(unsafe.iterdir()) == []


def test_without_pyspark_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    plan = tmp_path / "plan.toml"
    plan.write_text(dump_plan(Plan(tables={"t": TablePlan(columns={"a": ColumnPlan(action="keep")})})))
    args = ["copy", "run", "--engine", "spark", "--from", f"file://{tmp_path}", "--to", f"file://{tmp_path}/out",
            "--plan", str(plan)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "pip install 'dataward[spark]'" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_spark_classification_finds_the_local_categories(spark: SparkSession, device_cloud: Path) -> None:
    def categories(*extra: str) -> dict[tuple[str, str], set[str]]:
        result = CliRunner().invoke(cli, ["classify", f"file://{device_cloud}/prod", "--format", "json", *extra])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert doc["schema"] == "dataward.classification/v1"
        return {(o["object"], c["name"]): {m["id"] for m in c["categories"]} for o in doc["objects"] for c in o["columns"]}

    local = categories()
    assert local["users", "email"] == {"email"}
    assert categories("--engine", "spark", "--spark-master", "local[2]") == local


def test_jdbc_source_is_read_in_parallel_partitions(spark: SparkSession, postgres_factory) -> None:  # type: ignore[no-untyped-def]
    if not PG_JAR.exists():
        pytest.skip(f"the PostgreSQL JDBC driver is not installed ({PG_JAR}: apt-get install libpostgresql-jdbc-java)")
    from _copy_helpers import cloud, write_source

    from dataward.spark.io import read_source

    tables = cloud(users=60, seed=2)
    server = postgres_factory(auth="scram", databases=["lake"])
    source = write_source(server.url(user="app", db="lake"), tables)
    frames = read_source(spark, source, partitions=3)
    assert set(frames) == set(tables)
    events = frames["connection_events"]
    assert events.rdd.getNumPartitions() == 3
    assert sorted(r["id"] for r in events.select("id").collect()) == tables["connection_events"].column("id").to_pylist()
    assert sorted(r["email"] for r in frames["users"].select("email").collect()) == sorted(tables["users"].column("email").to_pylist())


def test_mysql_source_copies_like_the_local_engine(spark: SparkSession, mariadb_open, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    if not MARIADB_JAR.exists():
        pytest.skip(f"the MariaDB JDBC driver is not installed ({MARIADB_JAR}: apt-get install libmariadb-java)")
    import uuid

    from _copy_helpers import cloud, plan_for, write_source

    from dataward.spark import io
    from dataward.spark.io import read_source

    tables = {"users": cloud(users=40, seed=4)["users"]}  # ids, pseudonyms, timestamps, text: one table is enough
    server = str(mariadb_open.admin_url).rsplit("/", 1)[0].split("://", 1)[1] + f"/dw_spark_{uuid.uuid4().hex[:10]}"
    source = write_source(f"mysql://{server}", tables)
    frames = read_source(spark, source, partitions=3)
    assert set(frames) == set(tables) and frames["users"].rdd.getNumPartitions() == 3
    with monkeypatch.context() as patch:  # a session started without the driver's jar: one sentence
        patch.setitem(io._DRIVERS, "mysql", "org.example.NotOnTheClasspath")
        with pytest.raises(DatawardError, match=r"cannot load the JDBC driver org\.example\.NotOnTheClasspath"):
            read_source(spark, source)
    (tmp_path / "plan.toml").write_text(dump_plan(plan_for(source)))
    manifests = {}
    for engine, scheme in (("local", "mysql"), ("spark", "mariadb")):
        args = ["copy", "run", "--engine", engine, "--from", f"{scheme}://{server}", "--to", f"file://{tmp_path}/{engine}",
                "--plan", str(tmp_path / "plan.toml"), "--format", "json", "--spark-master", "local[2]"]  # fmt: skip
        result = CliRunner().invoke(cli, args, env={"DATAWARD_PSEUDONYM_KEY": KEY.secret.decode()})
        assert result.exit_code == 0, result.output
        manifests[engine] = json.loads(result.output)["manifest"]["tables"]
    assert manifests["spark"] == manifests["local"] and manifests["local"]["users"]["columns"]["email"] == "pseudonymize"
    for table in tables:
        rows = _rows(tmp_path / "spark", table)
        assert len(rows) == tables[table].num_rows and rows == _rows(tmp_path / "local", table), table


def _delta_lake(where: Path) -> Path:
    """A folder with a Parquet table and a folder that is a Delta table (its ``_delta_log``), for Spark to list."""
    (where / "lake" / "events" / "_delta_log").mkdir(parents=True)
    (where / "lake" / "events" / "_delta_log" / "00000000000000000000.json").write_text("{}\n")
    pq.write_table(pa.table({"id": [1, 2]}), where / "lake" / "users.parquet")
    return where / "lake"


def test_a_delta_folder_without_delta_lake_is_one_sentence(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataward.spark import delta

    if delta.has_delta(spark):
        pytest.skip("this Spark session has Delta Lake on its classpath")
    monkeypatch.setattr(delta, "deltalake_installed", lambda: False)
    lake = _delta_lake(tmp_path)
    result = CliRunner().invoke(cli, ["classify", "--engine", "spark", f"file://{lake}", "--format", "json"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    first, tip = result.output.splitlines()[:2]
    assert first.startswith("error: events in file://") and "is a Delta table" in first
    assert "pip install deltalake" in tip and "spark.jars.packages=io.delta:delta-spark" in tip and "spark.jars=" in tip


def test_a_delta_table_is_read_where_delta_lake_is_installed(spark: SparkSession, tmp_path: Path) -> None:
    from dataward.spark.delta import DELTA_LAKE_TIP, has_delta
    from dataward.spark.io import read_source
    from dataward.targets import parse_target

    if not has_delta(spark):
        pytest.skip(f"delta-spark is not on this session's classpath: {DELTA_LAKE_TIP}")
    df = spark.createDataFrame([(1, "a@b.com"), (2, None)], "id bigint, email string")
    df.write.format("delta").save(str(tmp_path / "lake" / "users"))
    frames = read_source(spark, parse_target(f"file://{tmp_path}/lake"))
    assert sorted(frames["users"].collect()) == sorted(df.collect())


def _needs_deltalake(spark: SparkSession) -> None:
    from dataward.spark.delta import deltalake_installed, has_delta

    if not deltalake_installed():
        pytest.skip("the deltalake package is not installed (pip install 'dataward[spark]')")
    if has_delta(spark):
        pytest.skip("this Spark session has Delta Lake on its classpath: it reads Delta tables itself")


def test_a_delta_table_is_read_at_its_current_version_through_delta_rs(spark: SparkSession, tmp_path: Path) -> None:
    import datetime as dt

    _needs_deltalake(spark)
    from deltalake import write_deltalake

    from dataward.spark.io import read_source
    from dataward.targets import parse_target

    day = dt.datetime(2020, 1, 1, 12, 30)
    old = pa.table({"id": pa.array([9], pa.int64()), "email": ["gone@b.com"], "region": ["US-CA"],
                    "seen": pa.array([day], pa.timestamp("us", "UTC")), "local": pa.array([day], pa.timestamp("us"))})  # fmt: skip
    new = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "email": ["a@b.com", None, "c@d.org"],
                    "region": ["US-CA", "DE:BE x", None], "seen": pa.array([day, None, day], pa.timestamp("us", "UTC")),
                    "local": pa.array([day, day, None], pa.timestamp("us"))})  # fmt: skip
    write_deltalake(tmp_path / "lake" / "users", old, partition_by=["region"])
    write_deltalake(tmp_path / "lake" / "users", new, partition_by=["region"], mode="overwrite")  # version 1
    write_deltalake(tmp_path / "lake" / "empty", new.slice(0, 0))
    pq.write_table(pa.table({"id": [1]}), tmp_path / "lake" / "plain.parquet")
    frames = read_source(spark, parse_target(f"file://{tmp_path}/lake"))
    assert sorted(frames) == ["empty", "plain", "users"]
    users = frames["users"]
    assert users.columns == new.column_names
    assert [f.dataType.simpleString() for f in users.schema.fields] == ["bigint", "string", "string", "timestamp", "timestamp_ntz"]
    got = sorted(tuple(r) for r in users.selectExpr("id", "email", "region", "unix_micros(seen)", "string(local)").collect())
    micros = int(day.replace(tzinfo=dt.UTC).timestamp() * 1e6)
    assert got == [(1, "a@b.com", "US-CA", micros, "2020-01-01 12:30:00"), (2, None, "DE:BE x", None, "2020-01-01 12:30:00"),
                   (3, "c@d.org", None, micros, None)]  # fmt: skip
    assert frames["empty"].count() == 0 and frames["empty"].columns == new.column_names


def _sorted_rows(data: pa.Table) -> list[tuple]:
    names = sorted(data.column_names)
    return sorted((tuple(r[n] for n in names) for r in data.to_pylist()), key=repr)


@pytest.mark.slow
def test_spark_copy_between_delta_tables_equals_the_local_copy_of_parquet(spark: SparkSession, device_cloud: Path) -> None:
    _needs_deltalake(spark)
    from deltalake import DeltaTable, write_deltalake

    lake = device_cloud / "delta-prod"
    for path in sorted((device_cloud / "prod").glob("*.parquet")):
        write_deltalake(lake / path.stem, pq.read_table(path))
    local = _copy(device_cloud, "local", f"file://{device_cloud}/local-for-delta")
    assert local.exit_code == 0, local.output
    args = ["copy", "run", "--engine", "spark", "--from", f"file://{lake}", "--to", f"file://{device_cloud}/delta-copy?format=delta",
            "--plan", str(device_cloud / "plan.toml"), "--format", "json"]  # fmt: skip
    remote = CliRunner().invoke(cli, args, env={"DATAWARD_PSEUDONYM_KEY": KEY.secret.decode()})
    assert remote.exit_code == 0, remote.output
    lm, sm = json.loads(local.output)["manifest"], json.loads(remote.output)["manifest"]
    assert sm["tables"] == lm["tables"]
    for table, copied in lm["tables"].items():
        if not copied.get("skipped"):
            copy = DeltaTable(device_cloud / "delta-copy" / table)
            assert copy.version() == 0
            assert _sorted_rows(copy.to_pyarrow_table()) == _rows(device_cloud / "local-for-delta", table), table


def _delta_log(where: Path, protocol: dict, configuration: dict) -> Path:
    """A Delta table's first commit written by hand, for the features delta-rs will not write."""
    mapped = {"delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-5f4b"}
    field = {"metadata": mapped if "delta.columnMapping.mode" in configuration else {}}
    schema = {"type": "struct", "fields": [{"name": "id", "type": "long", "nullable": True, **field}]}
    meta = {"id": "00000000-0000-0000-0000-000000000001", "format": {"provider": "parquet", "options": {}},
            "schemaString": json.dumps(schema), "partitionColumns": [], "configuration": configuration, "createdTime": 0}  # fmt: skip
    (where / "_delta_log").mkdir(parents=True)
    commit = [{"protocol": protocol}, {"metaData": meta}]
    (where / "_delta_log" / "00000000000000000000.json").write_text("".join(json.dumps(a) + "\n" for a in commit))
    return where


@pytest.mark.parametrize(
    "protocol, configuration, message",
    [
        ({"minReaderVersion": 2, "minWriterVersion": 5}, {"delta.columnMapping.mode": "name"}, "column mapping"),
        ({"minReaderVersion": 1, "minWriterVersion": 2}, {"delta.columnMapping.mode": "id"}, "column mapping"),
        ({"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["typeWidening"], "writerFeatures": ["typeWidening"]},
         {}, "typeWidening"),
    ],
)  # fmt: skip
def test_a_delta_table_that_needs_delta_lake_is_one_sentence(
    spark: SparkSession, tmp_path: Path, protocol: dict, configuration: dict, message: str
) -> None:
    from dataward.spark.delta import delta_snapshot

    _needs_deltalake(spark)
    table = _delta_log(tmp_path / "events", protocol, configuration)
    with pytest.raises(DatawardError, match="Delta") as caught:
        delta_snapshot(str(table), "events in the lake")
    assert str(caught.value).startswith("events in the lake is a Delta table") and message in str(caught.value)


def test_a_delta_table_with_deletion_vectors_in_use_is_refused() -> None:
    from types import SimpleNamespace

    from dataward.spark.delta import _refuse_unplain

    protocol = SimpleNamespace(min_reader_version=3, reader_features=["deletionVectors"])
    metadata = SimpleNamespace(configuration={})

    def table(deleted: int) -> SimpleNamespace:
        batches = [SimpleNamespace(num_rows=deleted)]
        return SimpleNamespace(protocol=lambda: protocol, metadata=lambda: metadata, deletion_vectors=lambda: batches)

    _refuse_unplain(table(0), "t")  # the feature on, no deleted rows: the files are the table
    with pytest.raises(DatawardError, match="deletion vectors"):
        _refuse_unplain(table(1), "t")


@pytest.mark.slow
def test_spark_blast_radius_equals_the_local_one(spark: SparkSession, tmp_path: Path) -> None:
    from functools import partial

    from incident_helpers import (
        EXPECTED_NOTES,
        cloud_tables,
        every_other_user,
        exposed_copy,
        notes_case,
        write_store,
    )

    from dataward.incident import ops
    from dataward.incident.store import open_incident_db
    from dataward.spark.blast import compute_spark

    columns = {
        "users": ["id", "email", "country", "created_at"],
        "devices": ["id", "user_id", "nickname", "wifi_ssid"],
        "integrations": ["id", "user_id", "provider", "access_token"],
        "connection_events": ["id", "device_id", "kind", "rssi"],
    }
    prod = cloud_tables()
    source = write_store(f"file://{tmp_path}/prod", prod)
    copy = write_store(f"sqlite:///{tmp_path}/copy.db", exposed_copy(prod, columns, every_other_user))
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", copy, "2019-12-04", "2019-12-26")
        local = ops.run_blast_radius(db, "leak", source)
        remote = ops.run_blast_radius(db, "leak", source, compute=partial(compute_spark, spark))
    assert local.affected_customers > 100
    assert remote.to_json() == local.to_json()
    assert remote.affected.equals(local.affected)
    # Tables and columns that cannot be tied to customers: the same notes from both engines.
    notes_source, classification = notes_case(prod, tmp_path)
    with open_incident_db(str(tmp_path / "notes.db")) as db:
        ops.open_incident(db, "gaps", "analytics-copy", "2019-12-04", "2019-12-26")
        local = ops.run_blast_radius(db, "gaps", notes_source, classification=str(classification))
        remote = ops.run_blast_radius(db, "gaps", notes_source, classification=str(classification),
                                      compute=partial(compute_spark, spark))
    assert [n for n in remote.notes if "assumed" not in n] == EXPECTED_NOTES
    assert remote.to_json() == local.to_json()
