"""The MLflow registry adapter against real SQLite and PostgreSQL tracking stores.

The SQLite store is created once per module: creating it runs MLflow's own migrations,
which takes a few seconds.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lightgbm
import numpy as np
import pytest
import yaml
from lightgbm import LGBMClassifier
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from steadyml.adapters.registry import Registry
from steadyml.errors import ConfigError, NotFoundError, RegistryUnavailable
from tests.conftest import PG_SERVER


def _data() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(300, 4))
    labels = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(0, 0.5, 300) > 0).astype(np.int64)
    return features, labels


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def sqlite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root}/state/mlflow.db"


def _registry(uri: str, root: Path, model: str | None = None) -> Registry:
    name = model or f"model-{uuid.uuid4().hex[:8]}"
    return Registry(uri, name, "steadyml-tests", root / "artifacts")


@pytest.fixture
def registry(sqlite_uri: str) -> Registry:
    """A registry with its own model name on the module's SQLite store."""
    root = Path(sqlite_uri.removeprefix("sqlite:///")).parent.parent
    return _registry(sqlite_uri, root)


def _round_trip(registry: Registry, tmp_path: Path) -> None:
    """Log a logistic regression with everything a training run logs, and read it back."""
    features, labels = _data()
    model = LogisticRegression().fit(features, labels)
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "sample.csv").write_text("a,b\n1,2\n")
    with registry.start_run("train", tags={"steadyml.service": "census"}) as run:
        run.log_params({"C": 1.0, "max_iter": 100, "note": None})
        run.log_metrics({"roc_auc": np.float64(0.91), "brier": 0.1, "ece": float("nan")})
        run.log_metrics({"recall": float("nan")})
        run.set_tags({"git_commit": "abc123"})
        run.log_dict({"rows": np.int64(300), "auc": np.float32(0.5)}, "reports/eval.json")
        run.log_dict({"service": "census", "features": ["a", "b"]}, "spec.yaml")
        run.log_text("# Model card\n", "model_card.md")
        run.log_artifacts(tmp_path / "reference", "reference")
        uri = run.log_model(model, "sklearn")
    assert uri == f"runs:/{run.run_id}/model"
    version = registry.register(uri, run.run_id, tags={"data_fingerprint": "f00d"})
    registry.set_alias("candidate", version)
    assert registry.alias_version("candidate") == version
    loaded = registry.load_model(version)
    assert isinstance(loaded, LogisticRegression)
    np.testing.assert_array_equal(loaded.predict_proba(features), model.predict_proba(features))

    info = registry.run(run.run_id)
    assert info.params == {"C": "1.0", "max_iter": "100", "note": "None"}
    assert info.metrics == {"roc_auc": 0.91, "brier": 0.1}
    assert info.tags["steadyml.skipped_nan_metrics"] == "ece,recall"
    assert info.tags["git_commit"] == "abc123"
    assert info.tags["steadyml.service"] == "census"
    assert info.start_time.tzinfo is not None

    described = registry.version(version)
    assert described.run_id == run.run_id
    assert described.tags == {"data_fingerprint": "f00d"}
    assert described.aliases == ("candidate",)
    assert described.source.startswith(info.artifact_uri)
    assert registry.model_uri(version) == f"models:/{registry.model_name}/{version}"

    out = tmp_path / "download"
    report = registry.download_artifacts(run.run_id, "reports/eval.json", out)
    assert json.loads(report.read_text()) == {"rows": 300, "auc": 0.5}
    spec = registry.download_artifacts(run.run_id, "spec.yaml", out)
    assert yaml.safe_load(spec.read_text()) == {"service": "census", "features": ["a", "b"]}
    card = registry.download_artifacts(run.run_id, "model_card.md", out)
    assert card.read_text() == "# Model card\n"
    reference = registry.download_artifacts(run.run_id, "reference", out)
    assert (reference / "sample.csv").read_text() == "a,b\n1,2\n"


def test_sklearn_round_trip_on_sqlite(registry: Registry, tmp_path: Path) -> None:
    _round_trip(registry, tmp_path)


def test_lightgbm_round_trips_in_both_flavours(registry: Registry) -> None:
    features, labels = _data()
    classifier = LGBMClassifier(n_estimators=10, num_leaves=4, verbose=-1).fit(features, labels)
    with registry.start_run("lgbm") as run:
        sk_uri = run.log_model(classifier, "sklearn", name="classifier")
        booster_uri = run.log_model(classifier.booster_, "lightgbm", name="booster")
    sk_version = registry.register(sk_uri, run.run_id)
    booster_version = registry.register(booster_uri, run.run_id)
    assert (sk_version, booster_version) == (1, 2)

    loaded = registry.load_model(sk_version)
    assert isinstance(loaded, LGBMClassifier)
    expected = np.asarray(classifier.predict_proba(features), dtype=np.float64)
    got = np.asarray(loaded.predict_proba(features), dtype=np.float64)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    booster = registry.load_model(booster_version)
    assert isinstance(booster, lightgbm.Booster)
    raw = np.asarray(booster.predict(features), dtype=np.float64)
    np.testing.assert_allclose(raw, expected[:, 1], rtol=0, atol=1e-12)


def test_log_model_is_quiet(registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    features, labels = _data()
    with registry.start_run("quiet") as run:
        caplog.set_level(logging.INFO)
        uri = run.log_model(LogisticRegression().fit(features, labels), "sklearn")
    registry.load_model(registry.register(uri, run.run_id))
    noisy = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == []


def test_alias_moves_and_versions(registry: Registry, sqlite_uri: str) -> None:
    features, labels = _data()
    assert registry.aliases() == {}
    assert registry.versions() == []
    with registry.start_run("three") as run:
        uri = run.log_model(LogisticRegression().fit(features, labels), "sklearn")
    v1, v2, v3 = (registry.register(uri, run.run_id, tags={"n": str(n)}) for n in range(3))
    registry.set_alias("champion", v1)
    registry.set_alias("previous", v1)
    registry.set_alias("champion", v2)  # a move, not a second alias
    registry.set_alias("candidate", v3)
    assert registry.aliases() == {"champion": v2, "previous": v1, "candidate": v3}
    registry.delete_alias("candidate")
    registry.delete_alias("candidate")  # absent: no error
    registry.delete_alias("never-set")
    assert registry.alias_version("candidate") is None
    assert registry.alias_version("champion") == v2

    same_store = Registry(sqlite_uri, registry.model_name, "steadyml-tests", Path("unused"))
    listed = same_store.versions()
    assert [info.version for info in listed] == [v3, v2, v1]
    assert [info.aliases for info in listed] == [(), ("champion",), ("previous",)]
    assert [info.tags for info in listed] == [{"n": "2"}, {"n": "1"}, {"n": "0"}]
    assert listed[0].created_at >= listed[-1].created_at


def test_a_failing_block_marks_the_run_failed(registry: Registry) -> None:
    with pytest.raises(RuntimeError, match="boom"), registry.start_run("fails") as run:
        raise RuntimeError("boom")
    assert registry.client.get_run(run.run_id).info.status == "FAILED"
    with registry.start_run("works") as done:
        pass
    assert registry.client.get_run(done.run_id).info.status == "FINISHED"


def test_missing_things_are_not_found(registry: Registry, tmp_path: Path) -> None:
    features, labels = _data()
    with registry.start_run("one") as run:
        uri = run.log_model(LogisticRegression().fit(features, labels), "sklearn")
    version = registry.register(uri, run.run_id)
    with pytest.raises(NotFoundError) as missing_version:
        registry.version(version + 1)
    assert missing_version.value.field == "model version"
    with pytest.raises(NotFoundError):
        registry.load_model(version + 1)
    with pytest.raises(NotFoundError):
        registry.set_alias("champion", version + 1)
    with pytest.raises(NotFoundError) as missing_run:
        registry.run("0" * 32)
    assert missing_run.value.field == "run_id"
    with pytest.raises(NotFoundError) as missing_artifact:
        registry.download_artifacts(run.run_id, "no/such/file.json", tmp_path)
    assert missing_artifact.value.field == "artifact_path"
    assert registry.aliases() == {}


def test_bad_arguments_are_config_errors(registry: Registry, tmp_path: Path) -> None:
    features, labels = _data()
    with registry.start_run("bad") as run:
        with pytest.raises(ConfigError) as flavor:
            run.log_model(LogisticRegression(), "xgboost")  # type: ignore[arg-type]
        assert flavor.value.field == "flavor"
        with pytest.raises(ConfigError):
            run.log_dict({"a": 1}, "report.txt")
        with pytest.raises(ConfigError):
            run.log_metrics({"auc": "high"})  # type: ignore[dict-item]
        with pytest.raises(NotFoundError):
            run.log_artifacts(tmp_path / "missing")
        uri = run.log_model(LogisticRegression().fit(features, labels), "sklearn")
    with pytest.raises(ConfigError):
        registry.register(uri, "f" * 32)
    version = registry.register(uri, run.run_id)
    with pytest.raises(ConfigError) as reserved:
        registry.set_alias("v3", version)  # MLflow reserves v<number>
    assert reserved.value.field == "alias"
    with pytest.raises(ConfigError):
        Registry("sqlite:///x.db", " ", "exp", tmp_path)


# -- reachability --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql+psycopg://postgres:secret@127.0.0.1:{port}/mlflow",
        "http://127.0.0.1:{port}",
    ],
)
def test_unreachable_registry_fails_fast(uri: str, tmp_path: Path) -> None:
    registry = Registry(uri.format(port=_closed_port()), "m", "e", tmp_path)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as caught:
        registry.ping()
    with pytest.raises(RegistryUnavailable):
        registry.versions()
    assert time.monotonic() - started < 10
    assert caught.value.field == "registry.tracking_uri"
    assert "secret" not in caught.value.one_line()
    assert "127.0.0.1" in caught.value.one_line()


def test_missing_postgres_database_or_driver(tmp_path: Path) -> None:
    missing = Registry(f"{PG_SERVER}/no_such_db_{uuid.uuid4().hex[:8]}", "m", "e", tmp_path)
    try:
        missing.ping()
    except RegistryUnavailable as exc:
        assert "does not exist" in exc.one_line() or "refused" in exc.one_line()
    else:
        pytest.fail("a missing database must be unavailable")
    with pytest.raises(ConfigError):
        Registry("postgresql+nodriver://x@h/db", "m", "e", tmp_path).ping()


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def http_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_ping_checks_an_http_tracking_server(
    http_server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    port = http_server.server_address[1]
    registry = Registry(f"http://127.0.0.1:{port}", "m", "e", tmp_path)
    registry.ping()
    _Health.status = 503
    try:
        with pytest.raises(RegistryUnavailable, match="503"):
            registry.ping()
    finally:
        _Health.status = 200


# -- PostgreSQL backend ----------------------------------------------------------------------


@pytest.fixture
def postgres_uri(postgres_url: str) -> str:
    """A throw-away PostgreSQL database (from tests/conftest.py)."""
    return postgres_url


@pytest.mark.postgres
def test_round_trip_on_postgres(postgres_uri: str, tmp_path: Path) -> None:
    registry = _registry(postgres_uri, tmp_path, model="census")
    registry.ping()
    _round_trip(registry, tmp_path)
    registry.set_alias("champion", 1)
    again = Registry(postgres_uri, "census", "steadyml-tests", tmp_path / "elsewhere")
    assert again.aliases() == {"candidate": 1, "champion": 1}
    assert [info.version for info in again.versions()] == [1]
