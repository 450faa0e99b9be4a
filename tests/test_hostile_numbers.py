"""Issue 27, cases 10, 13-14 and 17-19: numbers that are NaN, infinite or out of range, malformed
documents, checkpoints and tables. Each is one ``error:`` line (exit 2), never a verdict."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import AF, NSR, write_challenge_record, write_weights_csv
from helpers_gate import result_row, run_doc
from helpers_hostile import cli, one_error

from ecgbench.data.classes import SCORED_CLASSES, encode_labels
from ecgbench.gate.verdicts import GateSettings
from ecgbench.metrics.scoring_io import write_output_file


def _pair(tmp_path: Path, slow: float = 2.0) -> tuple[Path, Path]:
    base = run_doc([result_row("m", 1.0, 1)], seed=0)
    cur = run_doc([result_row("m", slow, 2)], seed=1)
    base.write(tmp_path / "base.json")
    cur.write(tmp_path / "slow.json")
    return tmp_path / "base.json", tmp_path / "slow.json"


def _edit(path: Path, change) -> Path:
    d = json.loads(path.read_text())
    change(d)
    out = path.with_name("edited-" + path.name)
    out.write_text(json.dumps(d))  # json writes NaN as NaN, as a hostile file would hold it
    return out


# ------------------------------------------------------------------ case 10: NaN passes the gate
def _set_sample(value: object):
    def change(d: dict) -> None:
        d["rows"][0]["latency"]["samples_ns"][5] = value

    return change


@pytest.mark.parametrize("value", [math.nan, 0, -5, "12", None])
def test_a_bad_sample_in_a_document_is_refused(tmp_path: Path, value: object) -> None:
    base, slow = _pair(tmp_path)
    bad = _edit(slow, _set_sample(value))
    one_error(cli("compare", base, bad), says="latency.samples_ns[5] must be a finite positive")
    bad_ref = _edit(base, lambda d: d["reference"]["model"]["samples_ns"].__setitem__(0, value))
    one_error(cli("compare", bad_ref, slow), says="reference model samples_ns[0]")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["rows"][0]["latency"].__setitem__("samples_ns", None), "must be a list"),
        (lambda d: d["rows"][0]["latency"].__setitem__("samples_ns", {"a": 1}), "must be a list"),
        (lambda d: d.__setitem__("fingerprint", "a string"), "fingerprint is not an object"),
        (lambda d: d["rows"][0].__setitem__("latency", [1, 2]), "latency is not an object"),
    ],
    ids=["samples-null", "samples-dict", "fingerprint-string", "latency-list"],
)
def test_a_malformed_document_is_one_line(tmp_path: Path, change, says: str) -> None:
    base, slow = _pair(tmp_path)
    one_error(cli("compare", base, _edit(slow, change)), says=says)


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--threshold", "nan", "--threshold must be a finite number"),
        ("--alpha", "nan", "--alpha must be a finite number"),
        ("--threshold", "inf", "--threshold must be a finite number"),
        ("--alpha", "2", "alpha must be a number in (0, 1)"),
        ("--alpha", "0", "alpha must be a number in (0, 1)"),
        ("--threshold", "0.5", "threshold (a slowdown ratio) must be a finite number >= 1"),
    ],
)
def test_gate_options_reject_nan_and_out_of_range(
    tmp_path: Path, flag: str, value: str, says: str
) -> None:
    base, slow = _pair(tmp_path)
    one_error(cli("compare", base, slow, flag, value), says=says)
    assert cli("compare", base, slow).exit_code == 1  # the ×2 slowdown itself is caught


def test_gate_settings_refuse_nan_in_the_library() -> None:
    for kw in ({"threshold": math.nan}, {"alpha": math.nan}, {"quantile": math.inf}):
        with pytest.raises(Exception, match="must be"):
            GateSettings(**kw)


# ------------------------------------------------------------------ case 17: runs that never end
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--duration", "nan"), "--duration must be a finite number"),
        (("--warmup", "nan"), "--warmup must be a finite number"),
        (("--duration", "-1"), "duration must be a finite number > 0"),
        (("--warmup", "-1"), "warmup must be a finite number >= 0"),
    ],
    ids=["duration-nan", "warmup-nan", "duration-negative", "warmup-negative"],
)
def test_run_numbers_are_checked_before_anything_runs(
    tiny_checkpoint: Path, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    res = cli("run", "--model", tiny_checkpoint, *args, "--store", tmp_path / "store")
    one_error(res, says=says)
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("round_s = 0", "round_s must be a finite number > 0"),
        ("round_s = -1", "round_s must be a finite number > 0"),
        ("round_s = nan", "round_s must be a finite number > 0"),
        ("settle_s = -5", "settle_s must be a finite number >= 0"),
        ("duration = inf", "duration must be a finite number > 0"),
        ("models = []", "no models named"),
    ],
    ids=["round-0", "round-negative", "round-nan", "settle-negative", "duration-inf", "no-models"],
)
def test_suite_numbers_and_models_are_checked(tmp_path: Path, line: str, says: str) -> None:
    suite = tmp_path / "s.toml"
    suite.write_text(f'name = "s"\nprecisions = ["fp32"]\n{line}\n')
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "store"), says=says)


@pytest.mark.parametrize("value", ["-5", "0", "nan"])
def test_a_budget_that_is_not_positive_is_refused(tmp_path: Path, value: str) -> None:
    res = cli("recommend", "--budget-ms", value, "--store", tmp_path / "none")
    one_error(res, says="--budget-ms")


# ------------------------------------------------------------------ case 13: weights.csv
@pytest.mark.parametrize(("value", "says"), [("nan", "finite number in [0, 1]"), ("-1", "[0, 1]")])
def test_a_weights_table_outside_the_challenge_range_is_refused(
    tmp_path: Path, value: str, says: str
) -> None:
    labels, outputs = _scored_folder(tmp_path, n=3, with_outputs=3)
    w = write_weights_csv(tmp_path / "weights.csv")
    lines = w.read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = value  # the first class's own diagonal
    lines[1] = ",".join(cells)
    w.write_text("\n".join(lines) + "\n")
    one_error(cli("score", "--labels", labels, "--outputs", outputs, "--weights", w), says=says)


def test_a_weights_table_with_a_diagonal_below_one_is_refused(tmp_path: Path) -> None:
    labels, outputs = _scored_folder(tmp_path, n=3, with_outputs=3)
    w = write_weights_csv(tmp_path / "weights.csv")
    lines = w.read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "0.5"
    lines[1] = ",".join(cells)
    w.write_text("\n".join(lines) + "\n")
    res = cli("score", "--labels", labels, "--outputs", outputs, "--weights", w)
    one_error(res, says="diagonal")


# ------------------------------------------------------------------ case 14: missing outputs
def _scored_folder(tmp_path: Path, n: int, with_outputs: int) -> tuple[Path, Path]:
    labels, outputs = tmp_path / "labels", tmp_path / "outputs"
    for i in range(n):
        name, dx = f"R{i:02d}", [NSR] if i % 2 else [AF]
        write_challenge_record(labels, name, dx=dx)
        if i < with_outputs:
            y = encode_labels(dx)
            write_output_file(outputs / f"{name}.csv", name, SCORED_CLASSES, y > 0, y * 0.9)
    return labels, outputs


def test_score_refuses_records_without_outputs_unless_asked(tmp_path: Path) -> None:
    labels, outputs = _scored_folder(tmp_path, n=10, with_outputs=2)
    w = write_weights_csv(tmp_path / "weights.csv")
    base = ("score", "--labels", labels, "--outputs", outputs, "--weights", w)
    one_error(cli(*base), says="8 of 10 records have no output file")
    only = cli(*base, "--only-with-outputs", "--json", tmp_path / "only.json")
    assert only.exit_code == 0, only.output
    assert json.loads((tmp_path / "only.json").read_text())["challenge_score"] == pytest.approx(1.0)
    neg = cli(*base, "--missing-as-negative", "--json", tmp_path / "neg.json")
    assert neg.exit_code == 0, neg.output
    assert json.loads((tmp_path / "neg.json").read_text())["challenge_score"] < 1.0


# ------------------------------------------------------------------ case 18: absurd checkpoints
@pytest.mark.parametrize(
    ("section", "key", "value", "says"),
    [
        ("config", "widths", [300000], "width must be a number in [1, 8192]"),
        ("config", "kernel_size", -1, "kernel_size must be"),
        ("preprocessing", "fs", 0.0, "fs (Hz) must be"),
        ("preprocessing", "fs", float("nan"), "fs (Hz) must be"),
        ("preprocessing", "eval_seconds", 1e9, "eval_seconds must be"),
    ],
)
def test_a_checkpoint_with_absurd_sizes_is_refused_before_a_model_is_built(
    tiny_checkpoint: Path, tmp_path: Path, section: str, key: str, value: object, says: str
) -> None:
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload[section][key] = value
    if key == "widths":
        payload["config"]["depths"] = [1]
    bad = tmp_path / "absurd.pt"
    torch.save(payload, bad)
    one_error(cli("zoo", "add", bad, "--zoo-dir", tmp_path / "zoo"), says=says)
    assert not (tmp_path / "zoo").exists()


# ------------------------------------------------------------------ case 18: environment errors
def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    base, slow = _pair(tmp_path, slow=1.0)
    (tmp_path / "a-file").write_text("")
    res = cli("compare", base, slow, "--markdown", tmp_path / "a-file" / "summary.md")
    one_error(res, says="a-file")


def test_a_nul_byte_in_a_store_url_is_one_line(tmp_path: Path) -> None:
    one_error(cli("store", "list", "--store", f"sqlite:///{tmp_path}/x%00.db"), says="NUL")


def test_a_corrupt_store_file_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "broken.db"
    db.write_bytes(b"SQLite format 3\0" + np.random.default_rng(0).bytes(4000))
    doc = run_doc([result_row("m", 1.0, 1)])
    doc.write(tmp_path / "d.json")
    for args in (
        ("store", "list", "--store", db),
        ("store", "import", tmp_path / "d.json", "--store", db),
        ("report", "--store", db, "-o", tmp_path / "rep"),
    ):
        one_error(cli(*args), says="cannot open store")


def test_timing_samples_are_checked_whole_and_the_first_bad_one_named() -> None:
    """Checked as one array (a 1,000-run store holds tens of millions of samples), yet a bool, a
    string, None, 0, NaN or an integer beyond float is still named by its index."""
    from ecgbench.errors import BadInputError
    from ecgbench.numbers import check_samples

    check_samples("s", [1, 2.5, 3])
    check_samples("s", [])
    for bad, at in (
        ([1, True], 1), ([1, "5"], 1), ([1, None, 3], 1), ([2, 0], 1),
        ([1.0, float("nan")], 1), ([3, -2], 1), ([1, 10**400], 1), ([float("inf")], 0),
    ):  # fmt: skip
        with pytest.raises(BadInputError, match=rf"s\[{at}\] must be a finite positive number"):
            check_samples("s", bad)
    with pytest.raises(BadInputError, match="must be a list"):
        check_samples("s", "1,2")
