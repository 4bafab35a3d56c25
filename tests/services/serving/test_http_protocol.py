"""``POST /predict`` answered by steadyml's HTTP protocol on a real server, over raw sockets.

The protocol reads a plain prediction request itself and leaves every other request to
uvicorn; these tests speak HTTP byte by byte to check what a client library would hide:
keep-alive, pipelining, split bodies, HTTP/1.0, ``Connection: close``, the requests it
hands to the ASGI route, a client that leaves before its answer, and a drain on SIGTERM.
"""

from __future__ import annotations

import re
import socket
import time
from functools import partial
from typing import Any

import orjson
import pytest

from steadyml.services.serving.http_protocol import PredictProtocol, find_serving_app
from steadyml.services.uvicorn_options import PREDICT_PROTOCOL, uvicorn_options
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec
from tests.services.serving import faulty
from tests.services.serving.conftest import logged, register_variant, with_deployment
from tests.services.serving.server import Server

Response = tuple[int, dict[str, str], bytes]


def request(
    body: bytes,
    *,
    path: str = "/predict",
    request_id: str | None = None,
    version: str = "1.1",
    extra: str = "",
) -> bytes:
    """The bytes of one ``POST`` with a JSON body."""
    head = f"POST {path} HTTP/{version}\r\nhost: test\r\ncontent-type: application/json\r\n"
    if request_id is not None:
        head += f"x-request-id: {request_id}\r\n"
    head += f"content-length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def read_responses(sock: socket.socket, count: int, timeout: float = 10.0) -> list[Response]:
    """``count`` HTTP responses (with a ``content-length``) read from ``sock``."""
    sock.settimeout(timeout)
    data = b""
    answers: list[Response] = []
    while len(answers) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            lines = data[:end].decode("latin-1").split("\r\n")
            heads = dict(line.split(": ", 1) for line in lines[1:])
            heads = {name.lower(): value for name, value in heads.items()}
            size = int(heads["content-length"])
            if len(data) >= end + 4 + size:
                answers.append((int(lines[0].split()[1]), heads, data[end + 4 : end + 4 + size]))
                data = data[end + 4 + size :]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {len(answers)} of {count} responses"
        data += chunk
    assert data == b"", f"unexpected bytes after the responses: {data[:200]!r}"
    return answers


def closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def prediction(response: Response) -> dict[str, Any]:
    status, _, raw = response
    assert status == 200, raw
    item: dict[str, Any] = orjson.loads(raw)["predictions"][0]
    return item


def requests_counted(server: Server, code: int) -> float:
    with connect(server) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nhost: test\r\n\r\n")
        ((_, _, text),) = read_responses(sock, 1)
    pattern = rf'steadyml_requests_total\{{code="{code}",endpoint="predict"\}} (\S+)'
    found = re.search(pattern, text.decode())
    return float(found.group(1)) if found else 0.0


def test_the_cli_and_the_simulator_run_the_protocol() -> None:
    options = uvicorn_options("127.0.0.1", 9, log_level="warning")
    assert options["http"] == PREDICT_PROTOCOL
    module, _, name = PREDICT_PROTOCOL.partition(":")
    assert module == PredictProtocol.__module__ and name == PredictProtocol.__name__


def test_the_serving_app_is_found_through_middleware_and_mounts() -> None:
    class Wrapper:
        def __init__(self, app: object) -> None:
            self.app = app

    class Router:
        def __init__(self, default: object) -> None:
            self.default = default

    assert find_serving_app(Wrapper(Router(object()))) is None
    assert find_serving_app(None) is None


@pytest.mark.slow
def test_predictions_over_raw_http(project: ServiceSpec, rows: list[dict[str, Any]]) -> None:
    spec = with_deployment(project, max_body_bytes=65536)
    record = orjson.dumps(rows[0])
    server = Server(spec.base_dir / "steadyml.yaml").start()
    try:
        before = requests_counted(server, 200)
        with connect(server) as sock:
            # keep-alive: three predictions, one connection, each in one answer
            answers = []
            for index in range(3):
                sock.sendall(request(record, request_id=f"keep-{index}"))
                answers += read_responses(sock, 1)
            assert [prediction(a)["request_id"] for a in answers] == ["keep-0", "keep-1", "keep-2"]
            _, heads, raw = answers[0]
            assert heads["content-type"] == "application/json"
            assert int(heads["content-length"]) == len(raw) and "date" in heads
            assert "connection" not in heads

            # the same request through the ASGI route (a query string goes there)
            sock.sendall(request(record, path="/predict?route=asgi", request_id="keep-0"))
            (via_asgi,) = read_responses(sock, 1)
            assert via_asgi[0] == 200 and via_asgi[2] == answers[0][2]

            # pipelined: a prediction, a health check and a prediction in one write
            live = b"GET /health/live HTTP/1.1\r\nhost: test\r\n\r\n"
            sock.sendall(
                request(record, request_id="pipe-1") + live + request(record, request_id="pipe-2")
            )
            first, health, second = read_responses(sock, 3)
            assert prediction(first)["request_id"] == "pipe-1"
            assert health[0] == 200 and orjson.loads(health[2]) == {"status": "live"}
            assert prediction(second)["request_id"] == "pipe-2"

            # a body that arrives in pieces
            whole = request(record, request_id="split")
            cut = whole.index(b"\r\n\r\n") + 4
            for piece in (whole[:cut], whole[cut : cut + 10], whole[cut + 10 :]):
                sock.sendall(piece)
                time.sleep(0.05)
            (split,) = read_responses(sock, 1)
            assert prediction(split)["request_id"] == "split"

            # client mistakes: the same error body as the ASGI route
            sock.sendall(request(b"{oops", request_id="bad-json"))
            sock.sendall(request(orjson.dumps({**rows[0], "AGEP": "old"})))
            (bad_json, violation) = read_responses(sock, 2)
            assert bad_json[0] == 400 and orjson.loads(bad_json[2])["field"] == "body"
            assert violation[0] == 422 and orjson.loads(violation[2])["field"] == "AGEP"

            # too large for deployment.max_body_bytes: refused by the ASGI route (413)
            huge = orjson.dumps([rows[0]] * 400)
            assert len(huge) > 65536
            sock.sendall(request(huge))
            (too_large,) = read_responses(sock, 1)
            assert too_large[0] == 413 and orjson.loads(too_large[2])["field"] == "body"

        # a chunked body goes to the ASGI route, which reads it
        with connect(server) as sock:
            head = b"POST /predict HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n"
            head += b"x-request-id: chunked\r\n\r\n"
            sock.sendall(head + b"%x\r\n" % len(record) + record + b"\r\n0\r\n\r\n")
            (chunked,) = read_responses(sock, 1)
            assert prediction(chunked)["request_id"] == "chunked"

        # HTTP/1.0, and Connection: close on HTTP/1.1: answered, then closed
        for version, extra, rid in (("1.0", "", "http-1.0"), ("1.1", "connection: close\r\n", "c")):
            with connect(server) as sock:
                sock.sendall(request(record, request_id=rid, version=version, extra=extra))
                (answer,) = read_responses(sock, 1)
                assert prediction(answer)["request_id"] == rid
                assert answer[1]["connection"] == "close"
                assert closed_by_server(sock)

        # direct answers are counted like the ASGI route's: keep-alive 3, pipelined 2,
        # split 1, closing 2; through ASGI, the query string 1 and the chunked body 1
        assert requests_counted(server, 200) - before == 3 + 2 + 1 + 2 + 1 + 1
    finally:
        assert server.terminate() == 0
    with Workspace.open(spec, environ={}) as ws:
        ids = set(logged(ws)["request_id"].to_list())
    expected = {"keep-0", "keep-1", "keep-2", "pipe-1", "pipe-2", "split", "chunked", "c"}
    assert expected | {"http-1.0", "bad-json"} <= ids


@pytest.mark.slow
def test_a_client_that_leaves_and_a_drain_on_sigterm(
    project: ServiceSpec, workspace: Workspace, rows: list[dict[str, Any]]
) -> None:
    register_variant(workspace, partial(faulty.Slow, seconds=1.0))
    spec = with_deployment(project, latency_budget_ms=5000)
    record = orjson.dumps(rows[0])
    server = Server(spec.base_dir / "steadyml.yaml").start()
    try:
        # a client that leaves before its answer: the server goes on, the record is kept
        with connect(server) as sock:
            sock.sendall(request(record, request_id="left"))
        with connect(server) as sock:
            sock.sendall(request(record, request_id="stayed"))
            (stayed,) = read_responses(sock, 1)
            assert prediction(stayed)["request_id"] == "stayed"
        # SIGTERM with a prediction in flight: it is answered, then the connection closes
        with connect(server) as sock:
            sock.sendall(request(record, request_id="in-flight"))
            time.sleep(0.1)
            assert server.process is not None
            server.process.terminate()
            (answer,) = read_responses(sock, 1)
            assert prediction(answer)["request_id"] == "in-flight"
            assert prediction(answer)["status"] == "ok"  # the model's answer, not a fallback
            assert answer[1].get("connection") == "close"
            assert closed_by_server(sock)
        assert server.process.wait(60) == 0
    finally:
        server.kill()
    ids = set(logged(workspace)["request_id"].to_list())
    assert {"left", "stayed", "in-flight"} <= ids


@pytest.mark.slow
def test_strict_mode_answers_a_refusal_once_it_is_durable(
    project: ServiceSpec, rows: list[dict[str, Any]]
) -> None:
    spec = with_deployment(project, durability="strict")
    server = Server(spec.base_dir / "steadyml.yaml").start()
    try:
        with connect(server) as sock:
            sock.sendall(request(b"[1, 2", request_id="refused"))
            sock.sendall(request(orjson.dumps(rows[1]), request_id="accepted"))
            refused, accepted = read_responses(sock, 2)
        assert refused[0] == 400 and orjson.loads(refused[2])["field"] == "body"
        assert prediction(accepted)["request_id"] == "accepted"
    finally:
        assert server.terminate() == 0
    with Workspace.open(spec, environ={}) as ws:
        log = logged(ws)
    statuses = dict(zip(log["request_id"].to_list(), log["status"].to_list(), strict=True))
    assert statuses["accepted"] == "ok" and statuses["refused"] == "rejected"


@pytest.mark.slow
def test_the_access_log_names_the_client_behind_a_trusted_proxy(
    project: ServiceSpec, rows: list[dict[str, Any]]
) -> None:
    """uvicorn trusts 127.0.0.1 as a proxy by default: its X-Forwarded-For is the client."""
    spec_path = project.base_dir / "steadyml.yaml"
    server = Server(spec_path, options=("--log-level", "info", "--access-log")).start()
    record = orjson.dumps(rows[0])
    forwarded = "x-forwarded-for: 203.0.113.7, 127.0.0.1\r\n"
    try:
        with connect(server) as sock:
            sock.sendall(request(record, extra=forwarded))  # answered directly
            sock.sendall(request(record, path="/predict?via=asgi", extra=forwarded))
            sock.sendall(request(record))  # no proxy header: the socket's peer
            assert [status for status, _, _ in read_responses(sock, 3)] == [200, 200, 200]
    finally:
        assert server.terminate() == 0
    lines = [line for line in server.log().splitlines() if '"POST /predict' in line]
    assert len(lines) == 3, server.log()
    direct, via_asgi, plain = lines
    assert '203.0.113.7:0 - "POST /predict HTTP/1.1" 200' in direct
    assert '203.0.113.7:0 - "POST /predict?via=asgi HTTP/1.1" 200' in via_asgi
    assert re.search(r'127\.0\.0\.1:\d+ - "POST /predict HTTP/1\.1" 200', plain)
