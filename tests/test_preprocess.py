"""Preprocessing, folds, classes and the dataset built from a record folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import (
    AF,
    NSR,
    synthetic_uv,
    write_challenge_record,
    write_metadata,
    write_weights_csv,
)

from ecgbench.data.classes import (
    ABBREVIATIONS,
    NORMAL_CLASS,
    SCORED_CLASSES,
    WEIGHTS_ENV,
    code_to_class_index,
    encode_labels,
    find_weights_file,
    load_weights,
)
from ecgbench.data.dataset import CropDataset, load_dataset
from ecgbench.data.folds import FoldSplit, load_folds, parse_folds
from ecgbench.data.preprocess import (
    Preprocessing,
    bandpass,
    fit_length,
    preprocess_signal,
    random_crop,
    resample,
    zscore,
)
from ecgbench.errors import BadInputError


def _sine(freq: float, fs: float, seconds: float, leads: int = 2) -> np.ndarray:
    t = np.arange(round(fs * seconds)) / fs
    return np.tile(np.sin(2 * np.pi * freq * t), (leads, 1)).astype(np.float32)


def _amplitude(x: np.ndarray, trim: int) -> float:
    return float(np.abs(x[..., trim:-trim]).max())


# --------------------------------------------------------------------------- signal processing
def test_resample_keeps_a_sine_and_changes_the_length() -> None:
    x = _sine(5.0, 250, 4.0)
    y = resample(x, 250, 500)
    assert y.shape == (2, 2000) and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 100:-100], _sine(5.0, 500, 4.0)[:, 100:-100], atol=1e-2)
    z = resample(_sine(5.0, 257, 4.0), 257, 500)
    assert z.shape[-1] == pytest.approx(2000, abs=1)
    assert resample(x, 500.0, 500.0) is x


def test_bandpass_keeps_the_band_and_removes_drift_and_high_frequencies() -> None:
    fs, band = 500.0, (1.0, 47.0)
    trim = 500
    assert _amplitude(bandpass(_sine(10.0, fs, 10.0), fs, band, 3), trim) == pytest.approx(
        1, abs=0.02
    )
    assert _amplitude(bandpass(_sine(0.1, fs, 10.0), fs, band, 3), trim) < 0.05
    assert _amplitude(bandpass(_sine(150.0, fs, 10.0), fs, band, 3), trim) < 0.05
    flat = bandpass(np.full((1, 2000), 3.0, np.float32), fs, band, 3)
    assert np.abs(flat).max() < 1e-3


def test_bandpass_upper_edge_is_capped_below_nyquist() -> None:
    # 47 Hz is above the 50 Hz Nyquist of a 100 Hz signal's 0.9 margin; it must still filter
    out = bandpass(_sine(5.0, 100.0, 10.0), 100.0, (1.0, 47.0), 3)
    assert np.all(np.isfinite(out)) and _amplitude(out, 100) == pytest.approx(1, abs=0.05)


def test_zscore_normalises_each_lead_and_leaves_flat_leads_zero() -> None:
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(5, 3, 1000), np.full(1000, 7.0), rng.normal(-2, 0.1, 1000)])
    z = zscore(x)
    assert z.dtype == np.float32 and np.all(np.isfinite(z))
    np.testing.assert_allclose(z[[0, 2]].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(z[[0, 2]].std(axis=1), 1, atol=1e-4)
    np.testing.assert_array_equal(z[1], 0)


def test_preprocess_signal_resamples_filters_and_normalises() -> None:
    pp = Preprocessing(fs=500.0)
    x = synthetic_uv(seconds=4.0, fs=250).astype(np.float32) / 1000
    y = preprocess_signal(x, 250.0, pp)
    assert y.shape == (12, 2000) and y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=1), 1, atol=1e-3)


def test_fit_length_crops_or_zero_pads() -> None:
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    np.testing.assert_array_equal(fit_length(x, 3), x[:, :3])
    padded = fit_length(x, 8)
    assert padded.shape == (2, 8) and padded.dtype == x.dtype
    np.testing.assert_array_equal(padded[:, :5], x)
    np.testing.assert_array_equal(padded[:, 5:], 0)


def test_random_crop_is_a_window_and_reproducible() -> None:
    x = np.tile(np.arange(100, dtype=np.float32), (12, 1))
    crops = [random_crop(x, 20, np.random.default_rng(s)) for s in range(20)]
    for c in crops:
        assert c.shape == (12, 20)
        np.testing.assert_array_equal(np.diff(c[0]), 1)  # contiguous samples
    assert len({int(c[0, 0]) for c in crops}) > 1  # the start varies
    np.testing.assert_array_equal(
        random_crop(x, 20, np.random.default_rng(3)), random_crop(x, 20, np.random.default_rng(3))
    )
    np.testing.assert_array_equal(random_crop(x[:, :10], 20, np.random.default_rng(0))[:, 10:], 0)


def test_preprocessing_round_trips_through_a_dict() -> None:
    pp = Preprocessing(fs=250.0, eval_seconds=8.0, crop_samples=1000, band_hz=(0.5, 40.0))
    assert pp.eval_samples == 2000
    d = pp.to_dict()
    assert d["band_hz"] == [0.5, 40.0]
    assert Preprocessing.from_dict({**d, "from_the_future": 1}) == pp


# --------------------------------------------------------------------------- folds and classes
def test_parse_folds() -> None:
    assert parse_folds("1-8") == (1, 2, 3, 4, 5, 6, 7, 8)
    assert parse_folds("1, 3,5") == (1, 3, 5)
    assert parse_folds("9") == (9,)
    for bad in ("x", "1-", "1-2-3"):
        with pytest.raises(BadInputError, match="bad fold list"):
            parse_folds(bad)


def test_fold_split_roles() -> None:
    split = FoldSplit()
    assert [split.role(f) for f in (1, 8, 9, 10, 11)] == ["train", "train", "val", "test", None]


def test_load_folds_reads_metadata_and_keeps_names_as_text(tmp_path: Path) -> None:
    assert load_folds(tmp_path) is None
    write_metadata(tmp_path, {"00001": 3, "HR00002": 10})
    assert load_folds(tmp_path) == {"00001": 3, "HR00002": 10}
    (tmp_path / "metadata.csv").write_text("record,fold\nA,1\n")
    with pytest.raises(BadInputError, match="strat_fold"):
        load_folds(tmp_path)
    (tmp_path / "metadata.csv").write_text("record,strat_fold\nA,one\n")
    with pytest.raises(BadInputError, match="strat_fold"):
        load_folds(tmp_path)


def test_equivalent_codes_share_one_class() -> None:
    index = code_to_class_index()
    assert len(SCORED_CLASSES) == 26 and set(ABBREVIATIONS) == set(SCORED_CLASSES)
    assert index["713427006"] == index["59118001"] == SCORED_CLASSES.index("713427006|59118001")
    assert index["17338001"] == SCORED_CLASSES.index("427172004|17338001")
    y = encode_labels(["59118001", "713427006", AF, "999999"])
    assert y.sum() == 2 and y[index["59118001"]] == 1 and y[index[AF]] == 1
    assert NORMAL_CLASS in index


def test_load_weights_reads_the_header_row(tmp_path: Path) -> None:
    w = load_weights(write_weights_csv(tmp_path / "w.csv"))
    assert w.classes == SCORED_CLASSES and w.matrix.shape == (26, 26)
    np.testing.assert_array_equal(np.diag(w.matrix), 1.0)
    rows = (tmp_path / "w.csv").read_text().splitlines()
    (tmp_path / "short.csv").write_text("\n".join(rows[:-1]) + "\n")
    with pytest.raises(BadInputError, match="expected square"):
        load_weights(tmp_path / "short.csv")
    (tmp_path / "text.csv").write_text(rows[0] + "\nA," + ",".join(["x"] * 26) + "\n")
    with pytest.raises(BadInputError, match="not a Challenge weights table"):
        load_weights(tmp_path / "text.csv")


def test_find_weights_file_uses_the_argument_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = write_weights_csv(tmp_path / "w.csv")
    monkeypatch.setenv(WEIGHTS_ENV, str(p))
    assert find_weights_file() == p
    with pytest.raises(BadInputError, match=r"weights\.csv not found"):
        find_weights_file(tmp_path / "missing.csv")
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "gone.csv"))
    with pytest.raises(BadInputError, match=WEIGHTS_ENV):
        find_weights_file()


# --------------------------------------------------------------------------- datasets
@pytest.fixture
def fold_folder(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    d = tmp_path / "folds"
    folds = {"R1": 1, "R2": 1, "R3": 9, "R4": 10, "R5": 2}
    for i, name in enumerate(folds):
        write_challenge_record(d, name, dx=[AF] if i % 2 else [NSR], seconds=3.0, fs=250, seed=i)
    write_challenge_record(d, "R_nometa", fs=250, seed=99)  # 2 s, no row in metadata.csv
    write_metadata(d, folds)
    return d, folds


def test_load_dataset_preprocesses_labels_and_folds(fold_folder) -> None:
    d, _ = fold_folder
    pp = Preprocessing(fs=500.0, crop_samples=256)
    data = load_dataset(d, pp, show_progress=False)
    assert data.names == ["R1", "R2", "R3", "R4", "R5", "R_nometa"]
    assert data.folds.tolist() == [1, 1, 9, 10, 2, 0]
    # 3 s (the last record 2 s) at 250 Hz, resampled to 500 Hz
    assert [s.shape for s in data.signals] == [(12, 1500)] * 5 + [(12, 1000)]
    assert all(s.dtype == np.float32 for s in data.signals)
    assert data.labels[:, SCORED_CLASSES.index(AF)].tolist() == [0, 1, 0, 1, 0, 0]
    assert data.summary() == {
        "records": 6,
        "skipped": 0,
        "folds": [0, 1, 2, 9, 10],
        "class_counts": {c: int(data.labels[:, i].sum()) for i, c in enumerate(SCORED_CLASSES)},
    }
    ev = data.eval_array()
    assert ev.shape == (6, 12, pp.eval_samples)
    for e, sig in zip(ev, data.signals, strict=True):
        np.testing.assert_array_equal(e[:, : sig.shape[1]], sig)
        np.testing.assert_array_equal(e[:, sig.shape[1] :], 0)

    train = data.subset([1, 2])
    assert train.names == ["R1", "R2", "R5"] and train.labels.shape == (3, 26)
    empty = data.subset([7])
    assert len(empty) == 0 and empty.eval_array().shape == (0, 12, pp.eval_samples)


def test_load_dataset_selects_folds_and_limits(fold_folder) -> None:
    d, _ = fold_folder
    pp = Preprocessing(crop_samples=256)
    assert load_dataset(d, pp, folds=[1, 10], show_progress=False).names == ["R1", "R2", "R4"]
    assert load_dataset(d, pp, limit=2, show_progress=False).names == ["R1", "R2"]
    with pytest.raises(BadInputError, match="for those folds"):
        load_dataset(d, pp, folds=[5], show_progress=False)


def test_load_dataset_skips_records_shorter_than_the_crop(fold_folder) -> None:
    d, folds = fold_folder
    data = load_dataset(d, Preprocessing(crop_samples=1250), show_progress=False)  # 2.5 s needed
    assert data.names == sorted(folds)  # 3 s records
    assert [(p.name, "too short" in p.reason) for p in data.problems] == [("R_nometa", True)]


def test_load_dataset_bad_folders(tmp_path: Path) -> None:
    pp = Preprocessing()
    with pytest.raises(BadInputError, match="data folder not found"):
        load_dataset(tmp_path / "missing", pp, show_progress=False)
    with pytest.raises(BadInputError, match=r"no records \(\*\.hea\)"):
        load_dataset(tmp_path, pp, show_progress=False)
    write_challenge_record(tmp_path, "R1")
    with pytest.raises(BadInputError, match=r"no metadata\.csv"):
        load_dataset(tmp_path, pp, folds=[1], show_progress=False)


def test_crop_dataset_gives_new_crops_each_epoch(fold_folder) -> None:
    d, _ = fold_folder
    data = load_dataset(d, Preprocessing(crop_samples=256), show_progress=False)
    ds = CropDataset(data, crop=256, seed=1)
    assert len(ds) == len(data)
    x, y = ds[1]
    assert x.shape == (12, 256) and x.dtype == torch.float32
    torch.testing.assert_close(y, torch.from_numpy(data.labels[1]))
    torch.testing.assert_close(ds[1][0], x)  # same epoch, same crop
    ds.epoch = 1
    assert not torch.equal(ds[1][0], x)
