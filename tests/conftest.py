"""Shared fixtures: records written on the fly (Challenge .hea+.mat, plain WFDB .dat), a synthetic
Challenge weights table, tiny checkpoints, and where the optional real data in ../shared lives.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
import wfdb

from ecgbench.checkpoint import Checkpoint, save_checkpoint
from ecgbench.data.classes import SCORED_CLASSES
from ecgbench.data.preprocess import Preprocessing
from ecgbench.data.records import STANDARD_LEADS
from ecgbench.nets.convnext1d import ConvNeXt1DConfig
from ecgbench.nets.families import ModelConfig, build_model

# No test writes into the user's real store: the default store (the XDG data directory) is a
# temporary folder for the whole session, subprocesses included, and $ECGBENCH_RESULTS is unset.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="ecgbench-xdg-")
os.environ.pop("ECGBENCH_RESULTS", None)

# The machine running the suite may be busy (a training job); one thread keeps every test fast.
torch.set_num_threads(1)

SHARED = Path(
    os.environ.get("ECGBENCH_SHARED") or Path(__file__).resolve().parents[1].parent / "shared"
)
PTBXL = SHARED / "data" / "ptbxl"
SAMPLES = SHARED / "data" / "cinc2021-samples"
QUIRKS = SAMPLES / "quirks"
WEIGHTS_CSV = SHARED / "physionet2021" / "weights.csv"

# The package never looks for ../shared: the suite hands the development records and the official
# weights table over as a user would (subprocesses inherit them), unless the caller already did.
if PTBXL.is_dir():
    os.environ.setdefault("ECGBENCH_DATA", str(PTBXL))
if WEIGHTS_CSV.is_file():
    os.environ.setdefault("ECGBENCH_WEIGHTS", str(WEIGHTS_CSV))


def needs_shared(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"real data not found at {path} (third-party: ../shared or $ECGBENCH_SHARED)",
    )


NSR = "426783006"
AF = "164889003"
TINY = ConvNeXt1DConfig(depths=(1, 1), widths=(8, 16), drop_path_rate=0.0)


# --------------------------------------------------------------------------- writing records
def synthetic_uv(
    n_leads: int = 12, fs: float = 500, seconds: float = 2.0, rate_hz: float = 1.2, seed: int = 0
) -> np.ndarray:
    """An ECG-like int16 signal [leads, samples] in microvolts: a beat train plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * fs)) / fs
    beat = np.exp(-(((t * rate_hz) % 1.0 - 0.3) ** 2) / 0.0008)  # narrow peak once per beat
    gains = rng.uniform(300, 1500, size=(n_leads, 1)) * rng.choice([-1, 1], size=(n_leads, 1))
    x = gains * beat + 40 * np.sin(2 * np.pi * 0.3 * t) + rng.normal(0, 15, size=(n_leads, t.size))
    return np.clip(np.round(x), -32767, 32767).astype(np.int16)


def write_challenge_record(
    directory: Path,
    name: str,
    val: np.ndarray | None = None,
    *,
    fs: float = 500,
    seconds: float = 2.0,
    dx: Sequence[str] = (NSR,),
    age: int = 50,
    sex: str = "Male",
    header_name: str | None = None,
    seed: int = 0,
) -> np.ndarray:
    """``name.hea`` + ``name.mat`` as the Challenge ships them (``val`` int16, 1000 per mV)."""
    if val is None:
        val = synthetic_uv(fs=fs, seconds=seconds, seed=seed)
    val = np.asarray(val, dtype=np.int16)
    directory.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(directory / f"{name}.mat", {"val": val}, format="4")
    n_leads, n = val.shape
    leads = list(STANDARD_LEADS) if n_leads == 12 else [f"L{i}" for i in range(n_leads)]
    lines = [f"{header_name or name} {n_leads} {fs:g} {n}"]
    for i in range(n_leads):
        v = val[i].astype(np.int64)
        checksum = int((v.sum() + 32768) % 65536 - 32768)
        lines.append(f"{name}.mat 16+24 1000/mV 16 0 {int(v[0])} {checksum} 0 {leads[i]}")
    lines += [f"#Age: {age}", f"#Sex: {sex}", f"#Dx: {','.join(dx)}", "#Rx: Unknown"]
    (directory / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return val


def write_dat_record(
    directory: Path,
    name: str,
    signal_mv: np.ndarray,
    *,
    fs: float = 500,
    dx: Sequence[str] = (NSR,),
    age: int = 60,
    sex: str = "Female",
) -> None:
    """A plain WFDB record (``.hea`` + format-16 ``.dat``) from a [samples, leads] array in mV."""
    directory.mkdir(parents=True, exist_ok=True)
    n_leads = signal_mv.shape[1]
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * n_leads,
        sig_name=list(STANDARD_LEADS[:n_leads]),
        p_signal=signal_mv,
        fmt=["16"] * n_leads,
        write_dir=str(directory),
        comments=[f"Age: {age}", f"Sex: {sex}", f"Dx: {','.join(dx)}"],
    )


def write_metadata(directory: Path, folds: dict[str, int]) -> None:
    rows = ["record,ecg_id,strat_fold"] + [f"{r},{i},{f}" for i, (r, f) in enumerate(folds.items())]
    (directory / "metadata.csv").write_text("\n".join(rows) + "\n")


# --------------------------------------------------------------------------- bad records
def _bad_truncated_mat(d: Path, name: str) -> None:
    write_challenge_record(d, name)
    data = (d / f"{name}.mat").read_bytes()
    (d / f"{name}.mat").write_bytes(data[: len(data) // 2])


def _bad_corrupt_mat(d: Path, name: str) -> None:
    """Garbage of the right size without WFDB's NaN sentinel: only the .mat header tells."""
    write_challenge_record(d, name)
    size = (d / f"{name}.mat").stat().st_size
    junk = np.random.default_rng(7).integers(-32767, 32767, size=size // 2, dtype=np.int16)
    (d / f"{name}.mat").write_bytes(junk.tobytes())


def _bad_binary_header(d: Path, name: str) -> None:
    write_challenge_record(d, name)
    (d / f"{name}.hea").write_bytes(
        bytes(np.random.default_rng(3).integers(128, 256, 400, np.uint8))
    )


def _bad_text_header(d: Path, name: str) -> None:
    write_challenge_record(d, name)
    (d / f"{name}.hea").write_text("this is not\na WFDB header at all\n")


def _bad_header_without_signal_lines(d: Path, name: str) -> None:
    write_challenge_record(d, name)
    text = (d / f"{name}.hea").read_text().splitlines()
    (d / f"{name}.hea").write_text("\n".join([text[0], *text[13:]]) + "\n")


def _bad_lead_count(d: Path, name: str) -> None:
    write_challenge_record(d, name, synthetic_uv(n_leads=6))


def _bad_nan_mat(d: Path, name: str) -> None:
    val = synthetic_uv()
    val[3, 100:110] = -32768  # WFDB's missing-sample value for format 16
    write_challenge_record(d, name, val)


def _bad_nan_dat(d: Path, name: str) -> None:
    sig = synthetic_uv().T / 1000.0
    sig[50, 2] = np.nan
    write_dat_record(d, name, sig)


def _bad_too_short(d: Path, name: str) -> None:
    write_challenge_record(d, name, seconds=0.5)


def _bad_missing_signal(d: Path, name: str) -> None:
    write_challenge_record(d, name)
    (d / f"{name}.mat").unlink()


def _bad_truncated_dat(d: Path, name: str) -> None:
    write_dat_record(d, name, synthetic_uv().T / 1000.0)
    data = (d / f"{name}.dat").read_bytes()
    (d / f"{name}.dat").write_bytes(data[: len(data) // 3])


# name -> (writer, words its reason must contain). Good records last 2 s; checks ask for 1 s.
BAD_RECORDS = {
    "bad_truncated_mat": (_bad_truncated_mat, "truncated"),
    "bad_corrupt_mat": (_bad_corrupt_mat, "corrupt"),
    "bad_binary_header": (_bad_binary_header, "garbage header"),
    "bad_text_header": (_bad_text_header, "garbage header"),
    "bad_no_signal_lines": (_bad_header_without_signal_lines, "garbage header"),
    "bad_six_leads": (_bad_lead_count, "6 leads"),
    "bad_nan_mat": (_bad_nan_mat, "NaN"),
    "bad_nan_dat": (_bad_nan_dat, "NaN"),
    "bad_too_short": (_bad_too_short, "too short"),
    "bad_missing_signal": (_bad_missing_signal, "signal file missing"),
    "bad_truncated_dat": (_bad_truncated_dat, "truncated"),
}
MIN_SECONDS = 1.0


def write_bad_record(directory: Path, name: str) -> str:
    """Write the bad record ``name`` (a key of BAD_RECORDS); return what its reason must say."""
    writer, reason = BAD_RECORDS[name]
    directory.mkdir(parents=True, exist_ok=True)
    writer(directory, name)
    return reason


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """Three good records (two Challenge-style, one .dat) beside every kind of bad record."""
    d = tmp_path / "mixed"
    good = {"good_nsr": [NSR], "good_af": [AF, "17338001"], "good_dat": [NSR, "59118001"]}
    write_challenge_record(d, "good_nsr", dx=good["good_nsr"], seed=1)
    write_challenge_record(d, "good_af", dx=good["good_af"], seed=2)
    write_dat_record(d, "good_dat", synthetic_uv(seed=3).T / 1000.0, dx=good["good_dat"])
    for name in BAD_RECORDS:
        write_bad_record(d, name)
    return d, good


@pytest.fixture
def all_bad_folder(tmp_path: Path) -> Path:
    d = tmp_path / "all_bad"
    for name in ("bad_truncated_mat", "bad_corrupt_mat", "bad_six_leads"):
        write_bad_record(d, name)
    return d


# --------------------------------------------------------------------------- training material
def write_weights_csv(path: Path, classes: Sequence[str] = SCORED_CLASSES) -> Path:
    """A valid Challenge-shaped reward matrix: full credit on the diagonal, a little elsewhere."""
    m = np.full((len(classes), len(classes)), 0.1) + 0.9 * np.eye(len(classes))
    rows = ["," + ",".join(classes)]
    rows += [c + "," + ",".join(f"{v:g}" for v in m[i]) for i, c in enumerate(classes)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="session")
def weights_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_weights_csv(tmp_path_factory.mktemp("weights") / "weights.csv")


def write_train_folder(d: Path, per_fold: int = 2) -> dict[str, int]:
    """Folds 1-10 with ``per_fold`` records each; AF records beat faster than sinus ones."""
    folds: dict[str, int] = {}
    i = 0
    for fold in range(1, 11):
        for k in range(per_fold):
            name = f"S{i:04d}"
            af = k % 2 == 1
            val = synthetic_uv(seconds=2.0, rate_hz=2.5 if af else 1.0, seed=100 + i)
            write_challenge_record(d, name, val, dx=[AF] if af else [NSR])
            folds[name] = fold
            i += 1
    write_metadata(d, folds)
    return folds


@pytest.fixture(scope="session")
def train_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("train_data")
    write_train_folder(d)
    return d


def make_checkpoint(
    cfg: ModelConfig = TINY,
    seed: int = 0,
    preprocessing: Preprocessing | None = None,
    decisive: bool = False,
    **kw: object,
) -> Checkpoint:
    """The one tiny-checkpoint factory of the suite.

    ``decisive``: an untrained head gives logits ~0, where any rounding flips a decision; a trained
    model is decisive, so the head bias is set to +-2.5 (alternating classes) as training would
    leave it (what the export and backend comparisons need).
    """
    torch.manual_seed(seed)
    model = build_model(cfg)  # any family
    if decisive:
        with torch.no_grad():
            signs = torch.tensor([1.0 if i % 3 == 0 else -1.0 for i in range(cfg.num_classes)])
            model.head.bias.copy_(2.5 * signs)
    return Checkpoint(
        config=cfg,
        state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
        preprocessing=preprocessing or Preprocessing(crop_samples=256),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # -> helpers_export.TinySession
    """Every variant of the tiny checkpoint, exported once per test session (ONNX's dynamo export
    alone costs ~10 s), in one cache that every test file reads."""
    from helpers_export import build_tiny_session

    return build_tiny_session(tmp_path_factory)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    """An untrained tiny checkpoint with metrics shaped like a trained one's."""
    p = tmp_path / "ckpts" / "tiny.pt"
    ckpt = make_checkpoint(
        metrics={
            "val": {"challenge_score": 0.25, "auroc": 0.5, "f_measure": None},
            "test": {"challenge_score": 0.125, "auroc": 0.75},
            "train_seconds": 1.5,
            "best_epoch": 0,
        },
        data={"dir": "/somewhere/data"},
        command="ecgbench train --model tiny",
    )
    save_checkpoint(ckpt, p)
    return p


def pytest_configure(config: pytest.Config) -> None:
    # wfdb calls pandas with a keyword pandas deprecates; not ours to fix, and it hides real warnings
    config.addinivalue_line("filterwarnings", "ignore:The inplace keyword in DataFrame:Warning")
