"""Ties from stored replicates: intervals known by construction, refusals of unpaired replicates,
agreement with the paired bootstrap on real replicates, and the zoo's replicates sidecar."""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics_bootstrap import outputs, weights

from ecgbench.accuracy.replicates import (
    REPLICATES_FILE,
    load_replicates,
    put_replicates,
)
from ecgbench.errors import BadInputError
from ecgbench.metrics.bootstrap import bootstrap_scores, paired_drop
from ecgbench.metrics.ties import Replicates, paired_difference, records_digest
from ecgbench.zoo import Zoo, ZooEntry

NAMES = tuple(f"HR{i:05d}" for i in range(40))


def reps(values: np.ndarray, point: float = 0.5, **kw: object) -> Replicates:
    base = {"seed": 0, "n_records": len(NAMES), "records_sha256": records_digest(NAMES)}
    return Replicates(np.asarray(values, dtype=np.float32), point, **{**base, **kw})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- known intervals
@pytest.mark.parametrize(
    ("shift", "lo", "hi", "verdict"),
    [(0.0, -0.95, 0.95, "tie"), (1.0, 0.05, 1.95, "worse"), (-2.0, -2.95, -1.05, "better")],
)
def test_interval_of_a_known_difference(shift: float, lo: float, hi: float, verdict: str) -> None:
    # best - other = linspace(-1, 1, 1001) + shift: its 2.5th and 97.5th percentiles are the 25th
    # and 975th values, -0.95 + shift and 0.95 + shift
    other = np.random.default_rng(0).random(1001)
    best = other + np.linspace(-1.0, 1.0, 1001) + shift
    d = paired_difference(reps(best, 0.6), reps(other, 0.5))
    assert (d.lo, d.hi) == pytest.approx((lo, hi), abs=1e-5)  # float32 storage
    assert d.point == pytest.approx(0.1) and d.verdict == verdict and d.tie == (verdict == "tie")
    assert d.to_dict()["ci"] == [d.lo, d.hi]


def test_the_level_sets_the_percentiles() -> None:
    d = paired_difference(reps(np.linspace(-1.0, 1.0, 1001)), reps(np.zeros(1001)), level=0.5)
    assert (d.lo, d.hi) == pytest.approx((-0.5, 0.5), abs=1e-6)
    with pytest.raises(BadInputError, match="level"):
        paired_difference(reps(np.zeros(3)), reps(np.zeros(3)), level=1.0)


def test_identical_replicates_tie_with_a_zero_width_interval() -> None:
    v = np.random.default_rng(1).random(500)
    d = paired_difference(reps(v), reps(v.copy()))
    assert (d.point, d.lo, d.hi, d.verdict) == (0.0, 0.0, 0.0, "tie")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"seed": 1}, "seed 0 vs 1"),
        ({"n_records": 39}, "records 40 vs 39"),
        ({"records_sha256": records_digest(NAMES[::-1])}, "records digest"),
        ({"values": np.zeros(999)}, "resamples 1000 vs 999"),
    ],
)
def test_replicates_drawn_otherwise_are_refused(change: dict, says: str) -> None:
    a = reps(np.zeros(1000))
    kw = {"values": np.zeros(1000), **change}
    b = reps(kw.pop("values"), **kw)
    with pytest.raises(BadInputError, match=f"int8 and fp32 were not resampled alike \\({says}"):
        paired_difference(a, b, names=("int8", "fp32"))


def test_the_digest_depends_on_the_records_and_their_order() -> None:
    assert records_digest(NAMES) == records_digest(list(NAMES))
    assert records_digest(NAMES) != records_digest(NAMES[::-1])
    assert records_digest(NAMES) != records_digest(NAMES[:-1])


# --------------------------------------------------------------------------- real replicates
def real_reps(y: np.ndarray, b: np.ndarray, p: np.ndarray, seed: int = 5) -> Replicates:
    s = bootstrap_scores(y, b, p, weights(), n_boot=300, seed=seed)
    assert s.challenge_replicates is not None and s.challenge_replicates.shape == (300,)
    return reps(s.challenge_replicates, s.challenge_score.point, seed=seed, n_records=len(y))


def test_replicates_of_two_variants_give_the_paired_bootstrap_interval() -> None:
    """Scored apart, kept as float32, paired later: the interval ``paired_drop`` gives together."""
    y, b, p = outputs(n=40, seed=11)
    for rate, verdict in ((0.03, None), (0.3, "worse")):
        flip = np.random.default_rng(2).random(y.shape) < rate
        b2, p2 = b ^ flip, np.where(flip, 1.0 - p, p)
        d = paired_difference(real_reps(y, b, p), real_reps(y, b2, p2))
        ref = paired_drop(y, b, p, b2, p2, weights(), n_boot=300, seed=5)[0]
        assert (d.point, d.lo, d.hi) == pytest.approx((ref.point, ref.lo, ref.hi), abs=1e-6)
        assert d.tie == (not ref.distinguishable)
        if verdict:
            assert d.verdict == verdict == {"drop": "worse"}[ref.verdict]
    s = bootstrap_scores(y, b, p, weights(), n_boot=300, seed=5)
    iv = s.challenge_score
    assert real_reps(y, b, p).interval() == pytest.approx((iv.lo, iv.hi), abs=1e-6)


def test_another_seed_is_refused_on_real_replicates() -> None:
    y, b, p = outputs(n=40, seed=12)
    with pytest.raises(BadInputError, match="seed 5 vs 6"):
        paired_difference(real_reps(y, b, p, seed=5), real_reps(y, b, p, seed=6))


# --------------------------------------------------------------------------- the sidecar
def zoo_with(tmp_path, *names: str) -> Zoo:
    z = Zoo(tmp_path)
    for n in names:
        z.entries[n] = ZooEntry(n, f"{n}.pt", f"sha-{n}", 1, 1, (1, 12, 1000), zoo_dir=tmp_path)
    z.save()
    return Zoo(tmp_path)


def test_the_sidecar_keeps_replicates_per_variant_and_drops_stale_ones(tmp_path) -> None:
    z = zoo_with(tmp_path, "m1", "m2")
    a, b = reps(np.linspace(0, 1, 50), 0.4), reps(np.full(50, 0.3), 0.3, seed=7)
    put_replicates(z, "m1", "openvino-int8@int8+f32", a)
    put_replicates(z, "m2", "onnxruntime-fp32@f32", b)
    got = load_replicates(Zoo(tmp_path))
    assert set(got) == {("m1", "openvino-int8@int8+f32"), ("m2", "onnxruntime-fp32@f32")}
    r = got[("m2", "onnxruntime-fp32@f32")]
    assert r.values.dtype == np.float32 and np.array_equal(r.values, b.values)
    assert (r.point, r.seed, r.n_records, r.records_sha256) == (0.3, 7, 40, b.records_sha256)
    with np.load(tmp_path / REPLICATES_FILE) as f:  # the replicates only: nothing per record
        assert sorted(f.files) == ["index", "r0", "r1"] and f["r0"].shape == (50,)
    put_replicates(z, "m1", "openvino-int8@int8+f32", None)  # re-scored without the bootstrap
    assert set(load_replicates(Zoo(tmp_path))) == {("m2", "onnxruntime-fp32@f32")}
    z2 = Zoo(tmp_path)
    z2.entries["m2"].sha256 = "retrained"
    assert load_replicates(z2) == {}  # a retrained model's old replicates are not its own
    (tmp_path / REPLICATES_FILE).write_bytes(b"not a zip")
    with pytest.raises(BadInputError, match="not a readable replicates file"):
        load_replicates(Zoo(tmp_path))
