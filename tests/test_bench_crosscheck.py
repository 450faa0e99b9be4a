"""The benchmark_app cross-check's timing process (its run on a real plan is in test_bench_runner)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_crosscheck_timing_process_reports_a_bad_ir_in_one_line(tmp_path: Path) -> None:
    from ecgbench.bench.probes.crosscheck import _FreshProcessLoop
    from ecgbench.errors import EcgbenchError

    bad = tmp_path / "model.xml"
    bad.write_text("<net>not an IR")
    with pytest.raises(EcgbenchError, match=r"cross-check: .*not a readable IR"):
        _FreshProcessLoop(str(bad), "CPU", [1, 12, 1000], 1)
