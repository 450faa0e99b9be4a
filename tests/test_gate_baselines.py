"""Baselines kept per machine: chosen by fingerprint among recorded machines, exit 3 when none fits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED
from typer.testing import CliRunner

from ecgbench.cli import app
from ecgbench.errors import NoBaselineError
from ecgbench.gate.baselines import (
    baseline_key,
    choose_baseline,
    executed_precisions,
    precisions_from_isa,
)

ROOT = Path(__file__).resolve().parents[1]
ZEN4_BASELINE = ROOT / "runners" / "baselines" / "baseline-22853bd3c53e.json"  # AMD EPYC Zen4
XEON_RUN = SHARED / "hardware" / "xeon-amx" / "run-grid.json"
PROFILE = """name = "gate-test"
models = ["m"]
backends = ["openvino"]
precisions = ["fp32"]
threads = 1
"""


def _fp(path: Path) -> dict:
    return json.loads(path.read_text())["fingerprint"]


def _recorded() -> dict[str, Path]:
    runs = {"epyc-zen4": ZEN4_BASELINE}
    if XEON_RUN.is_file():
        runs["xeon-amx"] = XEON_RUN
    return runs


def _as_baseline(src: Path, dest: Path, **fp_changes) -> Path:
    doc = json.loads(src.read_text())
    doc["fingerprint"].update(fp_changes)
    dest.write_text(json.dumps(doc))
    return dest


def test_executed_precisions_read_off_the_isa_match_what_openvino_reported() -> None:
    fp = _fp(ZEN4_BASELINE)  # recorded with native_precisions
    assert sorted(fp["native_precisions"]["CPU"]) == precisions_from_isa(fp["isa"])
    from ecgbench.bench.results.fingerprint import collect_fingerprint

    here = collect_fingerprint(1).to_dict()
    assert executed_precisions(here) == precisions_from_isa(here["isa"])


@pytest.mark.skipif(not XEON_RUN.is_file(), reason=f"needs the recorded Xeon run {XEON_RUN}")
def test_the_baseline_is_chosen_by_fingerprint_among_recorded_machines(tmp_path: Path) -> None:
    d = tmp_path / "baselines"
    d.mkdir()
    paths = {name: _as_baseline(p, d / f"{name}.json") for name, p in _recorded().items()}
    avx2 = _as_baseline(
        ZEN4_BASELINE,
        d / "epyc-avx2.json",
        isa=["sse4_2", "avx", "avx2", "fma", "f16c"],
        native_precisions={},
    )
    keys = {baseline_key(_fp(p)) for p in [*paths.values(), avx2]}
    assert len(keys) == 3  # three machine classes, three keys
    xeon = _fp(XEON_RUN)
    assert "BF16" in executed_precisions(xeon) and "FP16" in executed_precisions(xeon)
    chosen, _ = choose_baseline(sorted(d.glob("*.json")), xeon)
    assert chosen == paths["xeon-amx"]
    chosen, _ = choose_baseline(sorted(d.glob("*.json")), _fp(avx2))
    assert chosen == avx2
    with pytest.raises(NoBaselineError, match="no baseline for this machine"):
        choose_baseline(sorted(d.glob("*.json")), {**xeon, "threads": 4})


def test_no_baseline_for_this_machine_has_its_own_exit_code(tmp_path: Path) -> None:
    d = tmp_path / "baselines"
    d.mkdir()
    _as_baseline(ZEN4_BASELINE, d / "other.json", cpu_model="Some Other CPU")
    cur = _as_baseline(ZEN4_BASELINE, tmp_path / "cur.json")
    md = tmp_path / "summary.md"
    r = CliRunner().invoke(
        app, ["compare", "--baseline-dir", str(d), str(cur), "--markdown", str(md)]
    )
    assert r.exit_code == 3
    assert "no baseline for this machine" in r.output and "Some Other CPU" in r.output
    assert "no baseline for this machine" in md.read_text()  # the job summary says why it passed
    _as_baseline(ZEN4_BASELINE, d / "mine.json")
    r = CliRunner().invoke(app, ["compare", "--baseline-dir", str(d), str(cur)])
    # (a run against itself: never a regression; a noisy key of a stored run may be inconclusive)
    assert r.exit_code in (0, 4), r.output
    assert "mine.json" in r.output


def test_fingerprint_key_is_what_a_baseline_of_the_suite_carries(tmp_path: Path) -> None:
    """The CI cache key names the machine at the suite's threads (3 here, whatever the cores)."""
    prof = tmp_path / "p.toml"
    prof.write_text(PROFILE.replace("threads = 1", "threads = 3"))
    r = subprocess.run(
        [sys.executable, "-m", "ecgbench.cli", "fingerprint", "--key", "--suite", str(prof)],
        capture_output=True,
        text=True,
        check=True,
    )
    from ecgbench.bench.results.fingerprint import collect_fingerprint

    assert r.stdout.strip() == baseline_key(collect_fingerprint(3).to_dict())
    assert r.stdout.strip() != baseline_key(collect_fingerprint(2).to_dict())
