"""A/B mode: two artifacts of one model timed in a single interleaved run (real OpenVINO)."""

from __future__ import annotations

from typer.testing import CliRunner

from ecgbench.cli import app
from ecgbench.gate.compare import GateSettings, Verdict, compare_runs


def test_ab_mode_times_both_artifacts_in_one_run(tiny):
    from ecgbench.bench.timing import StopRule
    from ecgbench.gate.ab import ab_documents

    s = tiny
    old, new = s.artifact("openvino", "fp32"), s.artifact("openvino", "int8")
    rule = StopRule(min_duration_s=0.2, min_iters=5, warmup_s=0.05, round_s=0.05, settle_s=0.0)
    a, b = ab_documents(old, new, threads=1, rule=rule, samples=1000)
    assert a.fingerprint == b.fingerprint and a.reference is b.reference
    assert a.rows[0].key() == b.rows[0].key()
    assert (a.rows[0].artifact, b.rows[0].artifact) == (str(old), str(new))
    assert a.rows[0].latency.n >= 5 and b.rows[0].latency.n >= 5
    cmp = compare_runs(a, b, GateSettings(n_boot=100, normalise=False))
    assert len(cmp.verdicts) == 1 and cmp.verdicts[0].verdict != Verdict.NOT_COMPARABLE


def test_ab_mode_refuses_mixed_artifacts(tiny):
    s = tiny
    r = CliRunner().invoke(
        app,
        [
            "compare",
            "--ab",
            str(s.artifact("openvino", "fp32")),
            str(s.artifact("onnx", "fp32")),
            "--duration",
            "0.1",
        ],
    )
    assert r.exit_code == 2 and "same kind" in r.output and "Traceback" not in r.output
