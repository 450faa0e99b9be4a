"""``run --pipeline``: the end-to-end call (raw record window -> the model's preprocessing ->
inference -> decisions) timed beside the model-only row, on the tiny checkpoint's real exports and
records the tests write (10 s at 500 Hz, resampled to the tiny model's 100 Hz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write_challenge_record
from helpers_export import TinySession
from typer.testing import CliRunner

from ecgbench.backends import LoadSpec, get_backend
from ecgbench.bench.probes.pipeline import (
    EndToEnd,
    record_windows,
    resample_problem,
    synthetic_windows,
)
from ecgbench.bench.results.document import read_run
from ecgbench.bench.suite import load_suite
from ecgbench.card import activate, checkpoint_card
from ecgbench.checkpoint import load_checkpoint
from ecgbench.cli import app
from ecgbench.data.card_input import load_card_set
from ecgbench.errors import BadInputError

# short rounds: several per variant, so that end-to-end over model-only has an interval
SUITE = """models = ["{ckpt}"]
backends = ["openvino", "onnxruntime"]
precisions = ["fp32"]
threads = 1
duration = 0.4
round_s = 0.1
min_iters = 40
warmup = 0.02
"""


def _cli(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def raw500(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 10 s Challenge records at 500 Hz (the tiny model runs at 100 Hz)."""
    d = tmp_path_factory.mktemp("raw500")
    for i in range(3):
        write_challenge_record(d, f"R{i}", fs=500, seconds=10.0, seed=i)
    return d


def _run(tiny: TinySession, out: Path, *more: object, env: dict[str, str] | None = None):
    suite = out.with_suffix(".toml")
    suite.write_text(SUITE.format(ckpt=tiny.ckpt))
    return _cli(
        "run",
        "--suite",
        suite,
        "--pipeline",
        "--output",
        out,
        "--no-store",
        "--cache-dir",
        tiny.cache,
        *more,
        env={"ECGBENCH_ZOO": str(tiny.empty), **(env or {})},
    )


def test_pipeline_rows_carry_the_split_and_it_adds_up(
    tiny: TinySession, raw500: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.json"
    res = _run(tiny, out, "--data", raw500)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "end to end" in said and f"3 record(s) of {raw500} at 500 Hz" in said
    doc = read_run(out)  # the document round-trips the group
    assert {r.backend for r in doc.rows} == {"openvino", "onnxruntime"}
    for r in doc.rows:
        p = r.pipeline
        assert p is not None and p.source == "records" and p.fs_in == 500.0
        assert p.records == ["R0", "R1", "R2"]
        n = len(p.samples_ns)
        assert n == p.n >= 40 and len(p.preprocess_ns) == len(p.inference_ns) == len(p.post_ns) == n
        for part in (p.preprocess, p.inference, p.post):
            assert part.median_ms > 0 and part.ci95 and part.ci95[0] <= part.median_ms
        # the three parts are the whole call, less two clock reads: their per-call sum's median
        # lies in the end-to-end median's interval
        assert p.median_ci95 and p.split_adds_up, (p.split_sum_ms, p.median_ci95)
        # every end-to-end call is longer than its own parts, call by call
        parts = np.add(np.add(p.preprocess_ns, p.inference_ns), p.post_ns)
        assert np.all(np.asarray(p.samples_ns) >= parts)
        assert p.rounds >= 2 and p.over_inference and p.over_inference_ci95
        lo, hi = p.over_inference_ci95
        assert lo <= p.over_inference <= hi
        assert r.latency.median_ms > 0  # the model-only row beside it


def test_pipeline_without_records_says_it_ran_on_the_synthetic_ecg(
    tiny: TinySession, tmp_path: Path
) -> None:
    out = tmp_path / "o.json"
    res = _run(tiny, out, env={"ECGBENCH_DATA": ""})
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "synthetic ECG at 100 Hz" in said and "no --data / ECGBENCH_DATA" in said
    assert all(r.pipeline and r.pipeline.source == "synthetic" for r in read_run(out).rows)


def test_the_end_to_end_call_decides_as_evaluation_does(tiny: TinySession, raw500: Path) -> None:
    """The pipeline's decisions on a raw record are those of the evaluation path (records read,
    prepared per the card, inferred, activated, thresholded): one preprocessing, not two."""
    card = checkpoint_card(load_checkpoint(tiny.ckpt))
    windows = record_windows(raw500, card, card.seconds)
    backend = get_backend("openvino")
    backend.load(LoadSpec(artifact=tiny.artifact("openvino", "fp32"), samples=card.samples))
    e2e = EndToEnd(backend, card, windows, batch=1, samples=card.samples)
    ref = load_card_set(raw500, card, labelled=False)
    for i in range(3):
        e2e.run()
        want = activate(backend.infer(ref.x[i : i + 1]), card.activation) >= card.thresholds
        assert e2e.decisions is not None and np.array_equal(e2e.decisions, want)
    backend.close()


def test_bad_pipeline_input_is_one_line(tiny: TinySession, tmp_path: Path) -> None:
    short = tmp_path / "short"
    write_challenge_record(short, "S0", fs=500, seconds=2.0)
    odd = tmp_path / "odd"
    write_challenge_record(odd, "Q0", fs=333.3337, seconds=10.0)
    cases = (
        (("--data", short), "shorter than the model's 10 s window"),
        (("--data", odd), "cannot be resampled to the model's 100 Hz"),
        (("--data", tmp_path / "nowhere"), "no such folder"),
        (("--data", tiny.empty), "no records (.hea)"),
    )
    for more, says in cases:
        res = _run(tiny, tmp_path / "o.json", *more)
        assert res.exit_code == 2, (more, res.output)
        errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and says in " ".join(res.stderr.split()), (more, res.stderr)
        assert "Traceback" not in res.output
    res = _cli("run", "--model", tiny.ckpt, "--scenario", "throughput", "--pipeline", "--no-store")
    assert res.exit_code == 2 and "pipeline times one call at a time" in res.stderr


def test_rates_that_resample_and_rates_that_do_not() -> None:
    assert resample_problem(500.0, 100.0) is None
    assert resample_problem(257.0, 500.0) is None  # 500/257: polyphase, exact
    assert resample_problem(1000.0, 500.0) is None
    for bad in (333.3337, 0.3, float("nan"), 0.0, -500.0):
        assert resample_problem(bad, 500.0), bad


def test_synthetic_windows_have_the_cards_rate_and_leads(tiny: TinySession) -> None:
    card = checkpoint_card(load_checkpoint(tiny.ckpt))
    w = synthetic_windows(card, card.seconds)
    assert w.fs == card.fs and w.signals[0].shape == (12, card.samples)
    assert w.describe() == "synthetic ECG at 100 Hz"


def test_suite_key_pipeline(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text('models = ["all"]\npipeline = true\n')
    assert load_suite(p).pipeline is True
    p.write_text('models = ["all"]\npipeline = "yes"\n')
    with pytest.raises(BadInputError, match="pipeline must be true or false"):
        load_suite(p)
    p.write_text('models = ["all"]\npipeline = true\nscenario = "stream"\n')
    with pytest.raises(BadInputError, match="pipeline times one call at a time"):
        load_suite(p)


def test_stored_pipeline_rows_feed_the_report_and_recommend(
    tiny: TinySession, raw500: Path, tmp_path: Path
) -> None:
    import json

    from ecgbench.bench.store.database import load_store

    store = tmp_path / "store"
    out = tmp_path / "o.json"
    suite = out.with_suffix(".toml")
    suite.write_text(SUITE.format(ckpt=tiny.ckpt))
    env = {"ECGBENCH_ZOO": str(tiny.empty)}
    res = _cli(
        "run",
        "--suite",
        suite,
        "--pipeline",
        "--data",
        raw500,
        "--output",
        out,
        "--store",
        store,
        "--cache-dir",
        tiny.cache,
        env=env,
    )
    assert res.exit_code == 0, res.output
    df = load_store(store)
    rows = {r.backend: r for r in read_run(out).rows}
    for _, got in df.iterrows():  # the store's columns are the document's numbers
        p = rows[got["backend"]].pipeline
        assert p is not None and got["e2e_median_ms"] == pytest.approx(p.median_ms)
        assert got["e2e_preprocess_ms"] == pytest.approx(p.preprocess.median_ms)
    answers = tmp_path / "a.json"
    res = _cli(
        "recommend",
        "--precision",
        "fp32",
        "--budget-ms",
        "10000",
        "--store",
        store,
        "--pipeline",
        "--json",
        answers,
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert "end to end" in " ".join(res.output.split())
    assert json.loads(answers.read_text())["end_to_end"] is True
    # the tiny model has no score, so nothing is chosen: the candidates are what is judged
    from ecgbench.scaling.recommend import candidates

    c = candidates(df, "CPU", "fp32", end_to_end=True)
    assert len(c) == 2 and set(c["latency"]) == {"measured end to end"}
    for _, got in c.iterrows():
        r = rows[got["backend"]]
        assert r.pipeline is not None and got["median_ms"] == pytest.approx(r.pipeline.median_ms)
        assert got["model_only_ms"] == pytest.approx(r.latency.median_ms)
    report = tmp_path / "report"
    res = _cli("report", "--store", store, "-o", report, env=env)
    assert res.exit_code == 0, res.output
    page = (report / "index.html").read_text()
    assert "End to end" in page and (report / "end_to_end.png").is_file()
    # a store without end-to-end rows: recommend --pipeline says what to run, in one line
    plain = tmp_path / "plain"
    res = _cli(
        "run",
        "--model",
        tiny.ckpt,
        "--backend",
        "openvino",
        "--precision",
        "fp32",
        "--duration",
        "0.1",
        "--min-iters",
        "3",
        "--warmup",
        "0",
        "--threads",
        "1",
        "--store",
        plain,
        "--cache-dir",
        tiny.cache,
        env=env,
    )
    assert res.exit_code == 0, res.output
    res = _cli("recommend", "--precision", "fp32", "--store", plain, "--pipeline", env=env)
    assert res.exit_code == 2 and "run `ecgbench run --pipeline` first" in res.stderr
