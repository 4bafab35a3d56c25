"""Monitoring another server's prediction table: Parquet (Hive-partitioned) and PostgreSQL.

"Another server" writes census predictions of the real model with its own column
names, a status vocabulary of its own and the features as JSON text; the monitor maps
them and must build the same windows, raise the same incidents, resume at its
watermark after a restart and count the rows it cannot use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from steadyml.adapters.foreign_logs import LogMapping, ParquetSource
from steadyml.errors import SpecError
from steadyml.services.monitoring import Monitor
from steadyml.services.monitoring.foreign import BAD_ROWS
from steadyml.spec import ForeignLogSpec, ServiceSpec
from tests.core.monitoring.helpers import T0
from tests.services.monitoring.conftest import WINDOW, Rig, Trained
from tests.services.monitoring.test_runner import stored_rows

COLUMNS = {
    "request_id": "req",
    "event_time": "ts",
    "prediction": "score",
    "latency_ms": "took_ms",
    "status": "outcome",
    "features": "payload",
}
STATUSES = {"OK": "ok", "DEGRADED": "fallback", "FAILED": "error"}


def foreign_rows(frame: pl.DataFrame, *, null_anc: bool = False) -> pl.DataFrame:
    """Log records as another server stores them: its names, naive times, JSON features."""
    inputs = pl.col("inputs")
    if null_anc:  # an upstream change: ANC is null in 40 % of the requests
        broken = pl.int_range(pl.len()) % 5 < 2
        inputs = inputs.struct.with_fields(
            pl.when(broken).then(None).otherwise(pl.field("ANC")).alias("ANC")
        )
    return frame.select(
        pl.col("request_id").alias("req"),
        pl.col("event_time").dt.replace_time_zone(None).alias("ts"),
        pl.col("model_version").alias("model"),
        pl.col("prediction").alias("score"),
        pl.col("latency_ms").alias("took_ms"),
        pl.col("status").replace({"ok": "OK", "fallback": "DEGRADED"}).alias("outcome"),
        inputs.struct.json_encode().alias("payload"),
    )


def with_source(spec: ServiceSpec, raw: dict[str, Any]) -> ServiceSpec:
    source = ForeignLogSpec.model_validate(raw)
    return spec.model_copy(update={"monitors": spec.monitors.model_copy(update={"source": source})})


def source_spec(trained: Trained, **options: Any) -> ServiceSpec:
    raw: dict[str, Any] = {"columns": COLUMNS, "statuses": STATUSES, **options}
    raw.setdefault("constants", {"model_version": str(trained.bundle.version)})
    return with_source(trained.spec, raw)


def write_part(root: Path, frame: pl.DataFrame, name: str) -> Path:
    """One Parquet file in the other server's Hive layout (``dt=YYYY-MM-DD/``)."""
    day = frame.get_column("ts").dt.date().min()
    folder = root / ("dt=" + str(day))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.parquet"
    frame.write_parquet(path)
    return path


@pytest.fixture
def parquet_rig(trained: Trained, tmp_path: Path) -> Iterator[tuple[Rig, Path]]:
    table = tmp_path / "lake" / "predictions"
    table.mkdir(parents=True)
    rig = Rig(trained, tmp_path, source_spec(trained, format="parquet", path=str(table)))
    yield rig, table
    rig.close()


def test_a_parquet_table_with_json_features_raises_a_null_spike(
    parquet_rig: tuple[Rig, Path],
) -> None:
    rig, table = parquet_rig
    clean = rig.records(0, 2)
    write_part(table, foreign_rows(clean), "part-0")
    broken = rig.records(2, 2)
    write_part(table, foreign_rows(broken, null_anc=True), "part-1")
    report = rig.run(T0 + 4 * WINDOW + timedelta(minutes=3))
    assert report.rows == clean.height + broken.height and report.skipped == []
    assert report.check_errors == []
    assert stored_rows(rig, 4) == clean.height + broken.height
    assert {(a.rule, a.subject) for a in report.fired} >= {("schema_break_nulls", "ANC")}
    [alert] = [a for a in report.fired if a.rule == "schema_break_nulls"]
    [incident] = [i for i in rig.incidents("open") if i.key == alert.incident_key]
    assert "ANC" in incident.features and alert.first_seen >= T0 + 2 * WINDOW
    assert incident.first_seen <= alert.first_seen  # an hour's warning dates it to the hour
    nulls = rig.monitor_store.metric_series(
        "employment", "quality.null_rate", window="5m", subject="ANC"
    )
    by_start = {p.window_start: p for p in nulls if p.model_version == rig.version}
    assert by_start[T0].status == "ok" and by_start[T0 + 2 * WINDOW].status != "ok"


def test_clean_foreign_traffic_raises_nothing_and_a_restart_resumes_at_the_watermark(
    parquet_rig: tuple[Rig, Path],
) -> None:
    rig, table = parquet_rig
    first = rig.records(0, 2)
    write_part(table, foreign_rows(first), "part-0")
    rig.feedback(first, delay=timedelta(minutes=1))  # labels joined to the foreign rows
    one = rig.run(T0 + 2 * WINDOW + timedelta(minutes=3))
    assert one.rows == first.height and one.fired == []
    assert one.labels_matched == first.height and one.feedback_unmatched == 0
    auc = rig.monitor_store.metric_series(
        "employment", "performance.roc_auc", window="5m", subject=""
    )
    assert auc and all(p.value is not None and p.value > 0.8 for p in auc)
    cursor = rig.monitor_store.cursor("employment")
    newest = first.get_column("event_time").max()
    assert cursor.positions["watermark"] == int(newest.timestamp() * 1_000_000)  # type: ignore[union-attr]
    second = rig.records(2, 1)
    write_part(table, foreign_rows(second), "part-1")
    late = foreign_rows(rig.records(0, 1)).head(50).with_columns(pl.col("req") + "-late")
    write_part(table, late, "part-late")  # below the watermark: not read, as documented
    two = rig.run(T0 + 3 * WINDOW + timedelta(minutes=3))  # a new Monitor: a restart
    three = rig.run(T0 + 3 * WINDOW + timedelta(minutes=3))
    assert (two.rows, three.rows) == (second.height, 0)
    assert stored_rows(rig, 3) == first.height + second.height
    assert rig.incidents() == []


def test_rows_in_the_future_wait_and_a_limited_pass_catches_up(
    trained: Trained, tmp_path: Path
) -> None:
    table = tmp_path / "table"
    spec = source_spec(trained, format="parquet", path=str(table), max_rows=1000)
    rig = Rig(trained, tmp_path, spec)
    rows = rig.records(0, 2)
    write_part(table, foreign_rows(rows), "part-0")
    early = rig.run(T0 + WINDOW)  # the second window's rows lie in the clock's future
    due = rows.filter(pl.col("event_time") <= T0 + WINDOW).height  # the clock's present
    assert early.rows == due and early.passes >= 3
    later = rig.run(T0 + 2 * WINDOW + timedelta(minutes=3))
    assert later.rows == rows.height - early.rows
    rig.close()


def test_bad_rows_and_a_corrupt_file_are_skipped_and_counted(
    trained: Trained, tmp_path: Path
) -> None:
    table = tmp_path / "table"
    rig = Rig(
        trained, tmp_path, source_spec(trained, format="parquet", path=str(table), watermark="seq")
    )
    rows = foreign_rows(rig.records(0, 1)).with_row_index("seq")
    broken = rows.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("ts")).alias("ts"),
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.lit("{not json"))
        .otherwise(pl.col("payload"))
        .alias("payload"),
        pl.when(pl.int_range(pl.len()).is_in([7, 8]))
        .then(pl.lit("MAYBE"))
        .otherwise(pl.col("outcome"))
        .alias("outcome"),
    )
    no_watermark = pl.when(pl.col("seq") > 0).then(pl.col("seq")).alias("seq")
    write_part(table, broken.with_columns(no_watermark), "part-0")
    torn = table / "dt=2016-03-01" / "part-torn.parquet"
    torn.write_bytes(b"PAR1 half a file")
    report = rig.run(T0 + WINDOW + timedelta(minutes=3))
    assert report.rows == rows.height - 5  # row 0 has no watermark: never read
    assert [path for path, _ in report.skipped] == [str(torn)]
    stats = rig.monitor_store.cursor("employment").stats
    assert stats[f"{BAD_ROWS}.event_time"] == 1
    assert stats[f"{BAD_ROWS}.features"] == 1
    assert stats[f"{BAD_ROWS}.status"] == 2
    assert stored_rows(rig, 1) == rows.height - 5
    assert rig.monitor_store.cursor("employment").positions == {"watermark": rows.height - 1}
    rig.close()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"columns": {**COLUMNS, "prediction": "scroe"}}, "monitors.source.columns.prediction"),
        ({"columns": {**COLUMNS, "prediction": "req"}}, "monitors.source.columns.prediction"),
        ({"columns": {**COLUMNS, "features": "took_ms"}}, "monitors.source.columns.features"),
        ({"watermark": "outcome"}, "monitors.source.watermark"),
        ({"constants": {"status": "fine"}}, "monitors.source.constants.status"),
    ],
)
def test_a_bad_mapping_is_refused_at_start_up_naming_the_key(
    parquet_rig: tuple[Rig, Path], change: dict[str, Any], key: str
) -> None:
    rig, table = parquet_rig
    write_part(table, foreign_rows(rig.records(0, 1)), "part-0")
    spec = source_spec(rig.trained, format="parquet", path=str(table), **change)
    with pytest.raises(SpecError) as caught:
        Monitor(spec, rig.store, rig.root, rig.references, clock=rig.clock)
    assert caught.value.field == key


def test_the_mapping_checks_a_table_without_reading_rows() -> None:
    source = ForeignLogSpec.model_validate(
        {"format": "parquet", "path": "x", "columns": {"event_time": "ts", "prediction": "p"}}
    )
    with pytest.raises(SpecError, match="did you mean 'tss'"):
        LogMapping(source, {"tss": "temporal", "p": "numeric"})
    mapping = LogMapping(source, {"ts": "temporal", "p": "numeric"})
    assert mapping.time_watermark and mapping.source_columns() == ["ts", "p"]
    assert ParquetSource(Path("/nonexistent/dir")).kinds() == {}


# -- PostgreSQL ---------------------------------------------------------------------


def pg_table(url: str) -> sa.Table:
    table = sa.Table(
        "scored_requests",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("request_uuid", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.Text),
        sa.Column("proba", sa.Float),
        sa.Column("elapsed", sa.Float),
        sa.Column("error_message", sa.Text),
        sa.Column("features", JSONB),
    )
    engine = sa.create_engine(url)
    table.metadata.create_all(engine)
    engine.dispose()
    return table


def pg_insert(url: str, table: sa.Table, frame: pl.DataFrame, *, null_anc: bool = False) -> None:
    rows = foreign_rows(frame, null_anc=null_anc)
    records = [
        {
            "request_uuid": r["req"],
            "created_at": r["ts"].replace(tzinfo=T0.tzinfo),
            "model_name": r["model"],
            "proba": r["score"],
            "elapsed": r["took_ms"],
            "error_message": None if r["outcome"] != "FAILED" else "boom",
            "features": pl.Series([r["payload"]]).str.json_decode().to_list()[0],
        }
        for r in rows.iter_rows(named=True)
    ]
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.insert(table), records)
    engine.dispose()


PG_COLUMNS = {
    "request_id": "request_uuid",
    "event_time": "created_at",
    "model_version": "model_name",
    "prediction": "proba",
    "latency_ms": "elapsed",
    "error": "error_message",
    "features": "features",
}


@pytest.mark.slow
def test_a_postgres_table_is_monitored_from_its_id_watermark(
    trained: Trained, tmp_path: Path, new_postgres_db: Callable[[], str]
) -> None:
    url = new_postgres_db()
    table = pg_table(url)
    raw = {
        "format": "postgres",
        "url": url,
        "table": "scored_requests",
        "columns": PG_COLUMNS,
        "watermark": "id",
        "max_rows": 2500,
    }
    rig = Rig(trained, tmp_path, with_source(trained.spec, raw))
    clean, broken = rig.records(0, 2), rig.records(2, 2)
    pg_insert(url, table, clean)
    pg_insert(url, table, broken, null_anc=True)
    monitor = rig.monitor()
    assert monitor.foreign is not None
    rig.clock.set(T0 + 4 * WINDOW + timedelta(minutes=3))
    report = monitor.run_once()
    monitor.foreign.close()
    total = clean.height + broken.height
    assert report.rows == total and report.passes == -(-total // 2500)
    assert stored_rows(rig, 4) == total
    assert ("schema_break_nulls", "ANC") in {(a.rule, a.subject) for a in report.fired}
    assert rig.monitor_store.cursor("employment").positions == {"watermark": total}
    # a restart reads only new rows; a late row (old event time, new id) is read too
    late = rig.records(0, 1).head(10)
    pg_insert(url, table, late)
    again = rig.run(T0 + 4 * WINDOW + timedelta(minutes=4))
    assert again.rows == late.height
    assert stored_rows(rig, 4) == total + late.height
    rig.close()


def test_an_unknown_postgres_column_is_refused_naming_the_key(
    trained: Trained, tmp_path: Path, new_postgres_db: Callable[[], str]
) -> None:
    url = new_postgres_db()
    pg_table(url)
    rig = Rig(trained, tmp_path)
    columns = {**PG_COLUMNS, "latency_ms": "elapsed_ms"}
    raw = {"format": "postgres", "url": url, "table": "scored_requests", "columns": columns}
    spec = with_source(trained.spec, raw)
    with pytest.raises(SpecError) as caught:
        Monitor(spec, rig.store, rig.root, rig.references, clock=rig.clock)
    assert caught.value.field == "monitors.source.columns.latency_ms"
    assert "elapsed" in str(caught.value)
    rig.close()
