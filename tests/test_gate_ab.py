"""A/B mode: two artifacts of one model timed in a single interleaved run (real OpenVINO)."""

from __future__ import annotations

from typer.testing import CliRunner

from ecgbench.cli import app
from ecgbench.gate.verdicts import GateSettings, Verdict, compare_runs


def test_ab_mode_times_both_artifacts_in_one_run(tiny):
    from ecgbench.bench.timing import StopRule
    from ecgbench.gate.ab import ab_documents

    s = tiny
    old, new = s.artifact("openvino", "fp32"), s.artifact("openvino", "int8")
    rule = StopRule(min_duration_s=0.2, min_iters=5, warmup_s=0.05, round_s=0.05, settle_s=0.0)
    a, b = ab_documents(old, new, threads=1, rule=rule, input_samples=1000)
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


def _verdict(v: Verdict, ratio: float = 1.2) -> "KeyVerdict":  # noqa: F821, UP037
    from ecgbench.gate.verdicts import KeyVerdict

    key = {"model": "A/B", "backend": "openvino", "device": "CPU", "precision": "-"}
    return KeyVerdict({**key, "scenario": "latency", "batch": 1}, v, ratio=ratio)


def _cmp(*vs):
    from ecgbench.gate.verdicts import Comparison

    return Comparison(verdicts=list(vs), drift=None, settings=GateSettings())


def test_a_flag_the_swapped_timing_does_not_repeat_is_not_a_regression():
    from ecgbench.gate.ab import confirm_ab

    out = confirm_ab(_cmp(_verdict(Verdict.REGRESSION)), _cmp(_verdict(Verdict.UNCHANGED, 1.0)))
    assert out.verdicts[0].verdict == Verdict.UNCHANGED and out.exit_code == 0
    assert "not confirmed" in out.verdicts[0].note and "×1.200" in out.verdicts[0].note


def test_a_regression_both_timings_call_stands_and_half_a_flag_is_inconclusive():
    from ecgbench.gate.ab import confirm_ab

    both = confirm_ab(_cmp(_verdict(Verdict.REGRESSION)), _cmp(_verdict(Verdict.REGRESSION)))
    assert both.verdicts[0].verdict == Verdict.REGRESSION and both.exit_code == 1
    half = confirm_ab(_cmp(_verdict(Verdict.REGRESSION)), _cmp(_verdict(Verdict.INCONCLUSIVE)))
    assert half.verdicts[0].verdict == Verdict.INCONCLUSIVE and half.exit_code == 4


def test_an_unflagged_key_keeps_its_first_verdict():
    from ecgbench.gate.ab import confirm_ab

    first = _verdict(Verdict.UNCHANGED, 1.0)
    out = confirm_ab(_cmp(first), _cmp(_verdict(Verdict.REGRESSION)))
    assert out.verdicts[0] is first


def _zoo_ir(model: str):
    from pathlib import Path

    return (
        Path(__file__).resolve().parents[1] / "models" / "int8" / model / "openvino" / "model.xml"
    )


def test_compare_ab_re_times_a_flagged_key_swapped_before_failing():
    """pico's INT8 IR against atto's: a real ×3 slowdown, flagged, re-timed swapped, confirmed."""
    atto, pico = _zoo_ir("convnext1d_atto"), _zoo_ir("convnext1d_pico")
    args = ["compare", "--ab", str(atto), str(pico), "--duration", "0.5"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1, r.output
    assert "re-timing with A and B swapped" in r.output and "confirmed" in r.output
    faster = CliRunner().invoke(app, ["compare", "--ab", str(pico), str(atto), "--duration", "0.5"])
    assert faster.exit_code == 0 and "re-timing" not in faster.output, faster.output
