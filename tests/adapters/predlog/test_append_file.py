"""Appends reach the file whole and in order, whatever ``writev`` manages per call."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.adapters.predlog import append_file
from steadyml.adapters.predlog.append_file import AppendOnlyFile, write_all


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=300), max_size=40),
    cap=st.integers(min_value=1, max_value=700),
    iov_max=st.integers(min_value=1, max_value=8),
)
def test_short_writes_are_finished_in_order(
    tmp_path_factory: pytest.TempPathFactory,
    chunks: list[bytes],
    cap: int,
    iov_max: int,
) -> None:
    """A ``writev`` may write fewer bytes than asked, and takes at most IOV_MAX buffers."""
    calls: list[int] = []

    def short_writev(fd: int, buffers: Sequence[memoryview]) -> int:
        assert 0 < len(buffers) <= iov_max
        calls.append(len(buffers))
        return os.write(fd, b"".join(bytes(b) for b in buffers)[:cap])

    path = tmp_path_factory.mktemp("short") / "file"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "writev", short_writev)
        patch.setattr(append_file, "_IOV_MAX", iov_max)
        try:
            assert write_all(fd, chunks) == sum(map(len, chunks))
        finally:
            os.close(fd)
    assert path.read_bytes() == b"".join(chunks)
    if not any(chunks):
        assert calls == []  # nothing to write: no system call


def test_one_system_call_per_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal commit is a dozen pieces: one ``writev``, not a dozen ``write`` calls."""
    calls: list[int] = []
    real = os.writev

    def counted(fd: int, buffers: Sequence[memoryview]) -> int:
        calls.append(len(buffers))
        return real(fd, buffers)

    file = AppendOnlyFile.create(tmp_path / "a.log", b"head")
    monkeypatch.setattr(os, "writev", counted)
    floats = np.arange(4, dtype=np.float64)
    pieces: list[bytes | memoryview] = [b"x" * 10, floats.data, b"", memoryview(b"yz")]
    assert file.write(pieces) == 10 + floats.nbytes + 2
    file.sync()
    file.close()
    assert calls == [3]
    assert (tmp_path / "a.log").read_bytes() == b"head" + b"x" * 10 + floats.tobytes() + b"yz"
