"""Reading a run document: a malformed or missing file is one line of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecgbench.bench.results.document import read_run
from ecgbench.errors import BadInputError


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"schema": 3, "rows": []}',
        '{"schema": 1}',
        '{"schema": 1, "rows": 5}',
        '{"schema": 1, "rows": [7]}',
        '{"schema": 1, "rows": [{"model": "m", "backend": "openvino"}]}',
        '{"schema": 1, "rows": [{"model": "m", "backend": "openvino", "device": "CPU", '
        '"precision": "fp32", "samples_ns": [1, 2]}]}',  # lacks n, median_ms, ...
        '{"schema": 2, "rows": [{"model": "m", "backend": "openvino", "device": "CPU", '
        '"precision": "fp32", "samples_ns": [1, 2]}]}',  # schema 2 nests them in latency
        '{"schema": 2, "rows": [{"model": "m", "backend": "openvino", "device": "CPU", '
        '"precision": "fp32", "latency": {"samples_ns": [1, 2]}}]}',
        '{"schema": 2, "rows": [], "reference": {"gemm": 5}}',
        "\udcff",
    ],
)
def test_read_run_on_a_malformed_file_is_bad_input(tmp_path: Path, content: str) -> None:
    p = tmp_path / "run.json"
    p.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(BadInputError) as e:
        read_run(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_read_run_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        read_run(tmp_path / "none.json")
