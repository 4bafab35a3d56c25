"""The Open Inference Protocol (v2, REST), as KServe, MLServer and Triton speak it.

``POST /v2/models/{name}/infer`` takes one input tensor per contract column (``name`` =
column, ``shape`` ``[n]`` or ``[n, 1]``), or a single ``[n, k]`` tensor whose ``k``
columns are the contract's columns in contract order. Records go through exactly the
same batch path as ``/predict``. The answer has one output tensor each for
``prediction`` (FP64), ``label`` (BYTES, classifiers), ``fallback`` (BOOL), ``status``
(BYTES: ``ok``, ``fallback`` or ``rejected``) and ``request_id`` (BYTES). A refused
row's ``prediction`` is null; a request whose every row is refused is a 422 with the
one error body.
"""

from __future__ import annotations

from typing import Any

import orjson

import steadyml
from steadyml.core.contract import Contract
from steadyml.errors import DataError
from steadyml.services.serving.outcome import REJECTED, STATUS_NAMES, JobSlice
from steadyml.services.serving.payloads import PredictPayload, event_micros
from steadyml.services.serving.responses import error_response, request_error

__all__ = ["model_metadata", "parse_infer", "render_infer", "server_metadata"]

_DATATYPES = {"numeric": "FP64", "integer": "INT64", "categorical": "BYTES", "boolean": "BOOL"}


def _tensor(item: object, where: str) -> tuple[str, list[object], list[int]]:
    if not isinstance(item, dict):
        raise DataError(where, item, 'give each input as {"name", "shape", "datatype", "data"}')
    name, shape, data = item.get("name"), item.get("shape"), item.get("data")
    if not isinstance(name, str):
        raise DataError(f"{where}.name", name, "name the input tensor (a contract column)")
    if not isinstance(shape, list) or not all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    ):
        raise DataError(f"{where}.shape", shape, "give the shape as a list of sizes, e.g. [2]")
    if not isinstance(data, list):
        raise DataError(f"{where}.data", data, "give the values as a JSON list")
    if data and isinstance(data[0], list):  # nested rows: flatten one level
        flat: list[object] = []
        for row in data:
            if not isinstance(row, list):
                raise DataError(f"{where}.data", row, "mix no rows and values; use a flat list")
            flat.extend(row)
        data = flat
    return name, data, shape


def parse_infer(
    data: object, contract: Contract, *, header_time: str | None = None
) -> tuple[PredictPayload, str | None]:
    """Turn an inference request into records; return them and the request ``id``.

    Raises
    ------
    DataError
        (HTTP 400) Naming the malformed part (``inputs[1].shape``, ...).
    """
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list) or not data["inputs"]:
        raise DataError("inputs", None, 'send {"inputs": [{"name", "shape", "datatype", "data"}]}')
    request_id = data.get("id")
    if request_id is not None and (not isinstance(request_id, str) or not request_id):
        raise DataError("id", request_id, "give the request id as non-empty text")
    tensors = [_tensor(item, f"inputs[{i}]") for i, item in enumerate(data["inputs"])]
    names = contract.names
    if len(tensors) == 1 and tensors[0][0] not in names:
        _, values, shape = tensors[0]
        width = len(names)
        if len(shape) != 2 or shape[1] != width or len(values) != shape[0] * width:
            raise DataError(
                "inputs[0].shape", shape, f"give one tensor per column, or one [n, {width}] tensor"
            )
        records: list[object] = [
            dict(zip(names, values[i * width : (i + 1) * width], strict=True))
            for i in range(shape[0])
        ]
    else:
        rows = len(tensors[0][1])
        for i, (_, values, shape) in enumerate(tensors):
            if len(values) != rows or (shape and shape[0] != rows):
                raise DataError(
                    f"inputs[{i}].shape", shape, f"every input needs the same {rows} rows"
                )
        columns = [name for name, _, _ in tensors]
        records = [
            dict(zip(columns, row, strict=True))
            for row in zip(*(t[1] for t in tensors), strict=True)
        ]
    if not records:
        raise DataError("inputs", [], "send at least one row")
    parameters = data.get("parameters")
    when: object = header_time
    if isinstance(parameters, dict) and "event_time" in parameters:
        when = parameters["event_time"]
    event_us = None if when is None else [event_micros(when, "event_time")] * len(records)
    count = len(records)
    ids = None
    if request_id is not None:
        ids = [request_id] if count == 1 else [f"{request_id}-{i}" for i in range(count)]
    return PredictPayload(records, ids, event_us), request_id


def render_infer(part: JobSlice, model_name: str, request_id: str | None) -> tuple[int, bytes]:
    """``(HTTP status, JSON body)`` of one inference request."""
    if part.all_rejected():
        return error_response(request_error(part))
    outcome = part.outcome
    start, stop = part.start, part.stop
    n = part.size
    status = outcome.status[start:stop]
    values: list[float | None] = outcome.prediction[start:stop].tolist()
    for offset in (status == REJECTED).nonzero()[0].tolist():
        values[offset] = None
    outputs: list[dict[str, Any]] = [
        {"name": "prediction", "datatype": "FP64", "shape": [n], "data": values}
    ]
    labels = outcome.labels[start:stop]
    if any(label is not None for label in labels):
        outputs.append({"name": "label", "datatype": "BYTES", "shape": [n], "data": labels})
    outputs += [
        {
            "name": "fallback",
            "datatype": "BOOL",
            "shape": [n],
            "data": (outcome.reasons[start:stop] >= 0).tolist(),
        },
        {
            "name": "status",
            "datatype": "BYTES",
            "shape": [n],
            "data": [STATUS_NAMES[code] for code in status.tolist()],
        },
        {
            "name": "request_id",
            "datatype": "BYTES",
            "shape": [n],
            "data": outcome.request_ids[start:stop],
        },
    ]
    body: dict[str, Any] = {
        "model_name": model_name,
        "model_version": outcome.model_version,
        "outputs": outputs,
    }
    if request_id is not None:
        body["id"] = request_id
    return 200, orjson.dumps(body)


def model_metadata(model_name: str, version: int, contract: Contract) -> dict[str, Any]:
    """``GET /v2/models/{name}``: versions, inputs and outputs."""
    return {
        "name": model_name,
        "versions": [str(version)],
        "platform": "steadyml",
        "inputs": [
            {"name": rule.name, "datatype": _DATATYPES[rule.kind], "shape": [-1]}
            for rule in contract.columns
        ],
        "outputs": [
            {"name": "prediction", "datatype": "FP64", "shape": [-1]},
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "fallback", "datatype": "BOOL", "shape": [-1]},
            {"name": "status", "datatype": "BYTES", "shape": [-1]},
            {"name": "request_id", "datatype": "BYTES", "shape": [-1]},
        ],
    }


def server_metadata() -> dict[str, Any]:
    """``GET /v2``: the server's name, version and extensions."""
    return {"name": "steadyml", "version": steadyml.__version__, "extensions": []}
