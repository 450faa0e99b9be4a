"""Reading records: good ones exactly, every bad one reported by name and reason, quirks read."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from conftest import (
    AF,
    BAD_RECORDS,
    MIN_SECONDS,
    NSR,
    PTBXL,
    QUIRKS,
    SAMPLES,
    needs_shared,
    synthetic_uv,
    write_bad_record,
    write_challenge_record,
    write_dat_record,
)

from ecgbench.data.check import check_folder
from ecgbench.data.classes import SCORED_CLASSES, code_to_class_index, encode_labels
from ecgbench.data.dataset import load_dataset
from ecgbench.data.folds import load_folds
from ecgbench.data.preprocess import Preprocessing
from ecgbench.data.records import (
    STANDARD_LEADS,
    RecordError,
    iter_records,
    list_records,
    parse_header_comments,
    read_header_dx,
    read_record,
    record_base,
)
from ecgbench.errors import BadInputError


# --------------------------------------------------------------------------- good records
def test_challenge_record_reads_signal_in_millivolts_and_header_fields(tmp_path: Path) -> None:
    val = write_challenge_record(tmp_path, "A1", dx=[AF, "59118001"], age=71, sex="Female")
    rec = read_record(tmp_path / "A1.hea")
    assert rec.name == "A1"
    assert rec.signal.dtype == np.float32 and rec.signal.shape == val.shape
    np.testing.assert_allclose(rec.signal, val / 1000.0, atol=1e-6)
    assert rec.fs == 500.0 and rec.duration_s == pytest.approx(val.shape[1] / 500)
    assert rec.leads == list(STANDARD_LEADS)
    assert rec.dx == [AF, "59118001"]
    assert rec.age == 71 and rec.sex == "Female"
    assert rec.path == tmp_path / "A1"


def test_plain_wfdb_dat_record_reads_the_same_way(tmp_path: Path) -> None:
    sig = synthetic_uv(seed=5).T / 1000.0  # [samples, leads] in mV
    write_dat_record(tmp_path, "D1", sig, fs=250, dx=[NSR], age=33, sex="Male")
    rec = read_record(tmp_path / "D1")
    assert rec.signal.shape == (12, sig.shape[0]) and rec.fs == 250.0
    # format 16 quantises to the gain wfdb picked; far finer than 1 µV here
    np.testing.assert_allclose(rec.signal, sig.T, atol=2e-4)
    assert (rec.dx, rec.age, rec.sex) == ([NSR], 33.0, "Male")


def test_quirk_header_naming_the_mat_file_is_read_like_a_normal_one(tmp_path: Path) -> None:
    val = synthetic_uv(seed=9)
    write_challenge_record(tmp_path / "normal", "E1", val, dx=[AF])
    write_challenge_record(tmp_path / "quirk", "E1", val, dx=[AF], header_name="E1.mat")
    assert (tmp_path / "quirk" / "E1.hea").read_text().startswith("E1.mat 12 500 ")
    normal = read_record(tmp_path / "normal" / "E1")
    quirk = read_record(tmp_path / "quirk" / "E1")
    np.testing.assert_array_equal(quirk.signal, normal.signal)
    assert (quirk.name, quirk.fs, quirk.leads, quirk.dx) == ("E1", 500.0, normal.leads, [AF])
    assert quirk.path == tmp_path / "quirk" / "E1"  # the scratch copy does not leak out


def test_record_base_and_listing(tmp_path: Path) -> None:
    assert record_base("d/X.hea") == record_base("d/X.mat") == record_base("d/X") == Path("d/X")
    write_challenge_record(tmp_path / "b", "R2")
    write_challenge_record(tmp_path / "a", "R1")
    write_challenge_record(tmp_path, "R3")
    (tmp_path / "notes.txt").write_text("not a record")
    assert list_records(tmp_path) == [tmp_path / "a" / "R1", tmp_path / "b" / "R2", tmp_path / "R3"]
    assert list_records(tmp_path, recursive=False) == [tmp_path / "R3"]


def test_header_comments_with_or_without_hash() -> None:
    dx, age, sex = parse_header_comments(["#Age: 42", "Sex: Female", "#dx: 1, 2 ,3", "#Rx: x"])
    assert (dx, age, sex) == (["1", "2", "3"], 42.0, "Female")
    assert parse_header_comments(["#Age: NaN years", "#Sex:"]) == ([], None, None)


def test_read_header_dx_without_signal(tmp_path: Path) -> None:
    write_challenge_record(tmp_path, "H1", dx=[AF, NSR])
    (tmp_path / "H1.mat").unlink()
    assert read_header_dx(tmp_path / "H1.mat") == [AF, NSR]
    with pytest.raises(RecordError, match=r"^nothere: cannot read header"):
        read_header_dx(tmp_path / "nothere")


# --------------------------------------------------------------------------- bad records
@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_each_bad_record_raises_record_error_with_name_and_reason(
    tmp_path: Path, name: str
) -> None:
    reason = write_bad_record(tmp_path, name)
    with pytest.raises(RecordError) as info:
        read_record(tmp_path / name, min_duration_s=MIN_SECONDS)
    assert info.value.name == name
    assert reason in info.value.reason
    assert str(info.value) == f"{name}: {info.value.reason}"


def test_missing_header_is_a_record_error(tmp_path: Path) -> None:
    write_challenge_record(tmp_path, "M1")
    (tmp_path / "M1.hea").unlink()
    with pytest.raises(RecordError, match=r"^M1: header file missing"):
        read_record(tmp_path / "M1.mat")


def test_corrupt_mat_is_not_taken_for_a_signal(tmp_path: Path) -> None:
    """The garbage holds no NaN sentinel, so only the MATLAB header check can catch it."""
    write_bad_record(tmp_path, "bad_corrupt_mat")
    with pytest.raises(RecordError, match=r"corrupt signal file bad_corrupt_mat\.mat"):
        read_record(tmp_path / "bad_corrupt_mat")


def test_lead_count_and_duration_limits_are_parameters(tmp_path: Path) -> None:
    write_bad_record(tmp_path, "bad_six_leads")
    assert read_record(tmp_path / "bad_six_leads", n_leads=6).signal.shape[0] == 6
    write_bad_record(tmp_path, "bad_too_short")
    assert read_record(tmp_path / "bad_too_short").duration_s == pytest.approx(0.5)
    with pytest.raises(RecordError, match=r"too short: 0\.50 s"):
        read_record(tmp_path / "bad_too_short", min_duration_s=0.6)


def test_scan_reports_every_bad_record_and_keeps_going(mixed_folder) -> None:
    d, good = mixed_folder
    items = list(iter_records(list_records(d), min_duration_s=MIN_SECONDS))
    assert len(items) == len(good) + len(BAD_RECORDS)
    read = {i.name for i in items if not isinstance(i, RecordError)}
    problems = {i.name: i.reason for i in items if isinstance(i, RecordError)}
    assert read == set(good)
    assert set(problems) == set(BAD_RECORDS)
    for name, (_, words) in BAD_RECORDS.items():
        assert words in problems[name], name


def test_check_folder_counts_classes_and_lists_problems(mixed_folder) -> None:
    d, good = mixed_folder
    r = check_folder(d, min_duration_s=MIN_SECONDS, show_progress=False)
    assert r.ok and r.n_headers == len(good) + len(BAD_RECORDS) and r.n_usable == len(good)
    assert sorted(p.name for p in r.problems) == sorted(BAD_RECORDS)
    expected = encode_labels([]).astype(int)
    for codes in good.values():
        expected += encode_labels(codes).astype(int)
    assert list(r.class_counts) == list(SCORED_CLASSES)
    assert list(r.class_counts.values()) == expected.tolist()
    assert r.sampling_rates == {500.0: len(good)} and r.unscored == 0 and r.fold_counts == {}


def test_check_folder_with_nothing_usable(all_bad_folder: Path, tmp_path: Path) -> None:
    r = check_folder(all_bad_folder, show_progress=False)
    assert not r.ok and r.n_usable == 0 and len(r.problems) == r.n_headers == 3
    with pytest.raises(BadInputError, match="data folder not found"):
        check_folder(tmp_path / "nope", show_progress=False)


def test_load_dataset_skips_bad_records_and_reports_them(mixed_folder) -> None:
    d, good = mixed_folder
    pp = Preprocessing(crop_samples=500)  # 1 s at 500 Hz: the short record is unusable
    data = load_dataset(d, pp, show_progress=False)
    assert sorted(data.names) == sorted(good)
    assert sorted(p.name for p in data.problems) == sorted(BAD_RECORDS)
    for name, labels in zip(data.names, data.labels, strict=True):
        np.testing.assert_array_equal(labels, encode_labels(good[name]))


def test_load_dataset_with_nothing_usable_is_an_error(all_bad_folder: Path) -> None:
    with pytest.raises(BadInputError, match=r"no usable record .*all 3 skipped"):
        load_dataset(all_bad_folder, Preprocessing(), show_progress=False)


# --------------------------------------------------------------------------- real records
def _gains(header: Path) -> np.ndarray:
    lines = [ln for ln in header.read_text().splitlines() if ln and not ln.startswith("#")]
    return np.array([float(re.match(r"[\d.]+", ln.split()[2]).group()) for ln in lines[1:]])


@needs_shared(PTBXL)
def test_real_ptbxl_records_match_their_mat_files() -> None:
    for base in list_records(PTBXL)[:5]:
        rec = read_record(base)
        val = scipy.io.loadmat(base.with_suffix(".mat"))["val"]
        assert rec.signal.shape == (12, 5000) and rec.fs == 500.0
        assert rec.leads == list(STANDARD_LEADS)
        np.testing.assert_allclose(rec.signal, val / _gains(base.with_suffix(".hea"))[:, None])
        assert rec.dx and rec.dx == read_header_dx(base)


@needs_shared(QUIRKS)
def test_real_quirk_records_are_read() -> None:
    bases = list_records(QUIRKS)
    assert len(bases) == 4
    for base in bases:
        assert base.with_suffix(".hea").read_text().split()[0] == f"{base.name}.mat"
        rec = read_record(base)
        val = scipy.io.loadmat(base.with_suffix(".mat"))["val"]
        np.testing.assert_allclose(rec.signal, val / _gains(base.with_suffix(".hea"))[:, None])
        assert rec.dx


@needs_shared(SAMPLES)
@needs_shared(PTBXL)
def test_real_labels_merge_equivalent_codes() -> None:
    index = code_to_class_index()
    secondary = {c.split("|")[1]: i for i, c in enumerate(SCORED_CLASSES) if "|" in c}
    seen_secondary = 0
    bases = list_records(SAMPLES / "cpsc") + list_records(SAMPLES / "torch_ecg")
    for base in bases + list_records(PTBXL)[::20]:  # PTB-XL uses first codes only
        dx = read_header_dx(base)
        y = encode_labels(dx)
        want = np.zeros(len(SCORED_CLASSES), np.float32)
        for code in dx:
            for i, cls in enumerate(SCORED_CLASSES):
                if code in cls.split("|"):
                    want[i] = 1
        np.testing.assert_array_equal(y, want, err_msg=base.name)
        for code in dx:
            if code in secondary:
                seen_secondary += 1
                assert index[code] == secondary[code] and y[secondary[code]] == 1
    assert seen_secondary > 0, "the samples should include an equivalent (second) code"


@needs_shared(PTBXL)
def test_real_ptbxl_folds_come_from_metadata() -> None:
    import csv

    with open(PTBXL / "metadata.csv", newline="") as f:
        rows = {r["record"]: int(r["strat_fold"]) for r in csv.DictReader(f)}
    folds = load_folds(PTBXL)
    assert folds == rows
    assert {b.name for b in list_records(PTBXL)} <= set(folds)
    counts = np.bincount(list(folds.values()), minlength=11)
    # PTB-XL's documented split in ../shared/README.md
    assert (counts[1:9].sum(), counts[9], counts[10]) == (1649, 216, 230)


@needs_shared(PTBXL)
def test_real_ptbxl_load_dataset_small() -> None:
    pp = Preprocessing()
    data = load_dataset(PTBXL, pp, folds=[9], limit=4, show_progress=False)
    assert len(data) == 4 and not data.problems
    assert set(data.folds.tolist()) == {9}
    for name, sig, y in zip(data.names, data.signals, data.labels, strict=True):
        assert sig.shape == (12, pp.eval_samples) and sig.dtype == np.float32
        np.testing.assert_allclose(sig.mean(axis=1), 0, atol=1e-3)
        np.testing.assert_array_equal(y, encode_labels(read_header_dx(PTBXL / name)))
