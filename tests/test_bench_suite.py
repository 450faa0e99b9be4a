"""Runner profiles: every runners/*.toml loads and means what it says; a bad one is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_bench import BAD_SUITES

from ecgbench.bench.suite import BACKENDS, load_suite
from ecgbench.errors import BadInputError

RUNNERS = Path(__file__).resolve().parents[1] / "runners"


@pytest.mark.parametrize("path", sorted(RUNNERS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_runner_profile_loads(path: Path) -> None:
    plan = load_suite(path)
    assert plan.name == path.stem
    assert set(plan.backends) <= set(BACKENDS) and plan.devices and plan.batch
    assert plan.duration > 0 and plan.min_iters >= 1


def test_runner_profiles_mean_what_they_say() -> None:
    assert len(list(RUNNERS.glob("*.toml"))) >= 5
    lat = load_suite(RUNNERS / "cpu-latency.toml")
    assert lat.threads is None and lat.models == ("all",) and lat.scenario == "latency"
    assert set(lat.precisions) == {"fp32", "bf16", "fp16", "int8"}
    assert load_suite(RUNNERS / "cpu-throughput.toml").batch == (1, 8)
    npu = load_suite(RUNNERS / "intel-npu.toml")
    assert npu.devices == ("NPU",) and npu.static_shape is True
    assert load_suite(RUNNERS / "auto-hetero.toml").devices == ("AUTO", "HETERO:CPU")
    ci = load_suite(RUNNERS / "ci.toml")  # enough rounds for the gate's round-paired statistics
    assert ci.duration / ci.round_s >= 30 and set(ci.precisions) == {"fp32", "bf16", "int8"}


@pytest.mark.parametrize("case", sorted(BAD_SUITES))
def test_a_bad_runner_file_is_one_line(tmp_path: Path, case: str) -> None:
    text, says = BAD_SUITES[case]
    p = tmp_path / f"{case}.toml"
    p.write_text(text)
    with pytest.raises(BadInputError) as e:
        load_suite(p)
    msg = str(e.value)
    assert says in msg and "\n" not in msg, msg


def test_min_samples_for_raises_the_stop_rule_to_what_the_percentile_needs(tmp_path: Path) -> None:
    from ecgbench.bench.lifecycle import stop_rule
    from ecgbench.statistics import min_samples

    p = tmp_path / "s.toml"
    for text, calls in (
        ("min_iters = 30\n", 30),
        ('min_iters = 30\nmin_samples_for = "p99"\n', min_samples(99.0)),
        ('min_iters = 30\nmin_samples_for = "P90"\n', min_samples(90.0)),
        ('min_iters = 5000\nmin_samples_for = "p99"\n', 5000),  # never lowers it
    ):
        p.write_text(text)
        plan = load_suite(p)
        assert plan.min_calls() == calls and stop_rule(plan).min_iters == calls, text
    assert load_suite(RUNNERS / "cpu-latency.toml").min_calls() == min_samples(99.0)
    ci = load_suite(RUNNERS / "ci.toml")  # the CI suite's timing is its own
    assert ci.min_samples_for is None and ci.min_calls() == ci.min_iters
