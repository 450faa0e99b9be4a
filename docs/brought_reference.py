"""A plain ONNX Runtime scorer for a brought model, with no ecgbench import: the check on ecgbench.

Reads every record of a folder (optionally one fold of its metadata.csv) with wfdb, prepares it as
the card says (leads by name, units, resample, steps, window, layout), runs the ONNX file in
ONNX Runtime one record at a time and prints ``{"record": [probabilities...]}`` as JSON. ecgbench's
FP32 ONNX Runtime scores of the same model must equal these to 1e-6
(tests/test_brought_pipeline.py runs both).

    python docs/brought_reference.py MODEL.onnx CARD.toml DATA_DIR [--fold 10] > probs.json
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnxruntime as ort
import tomllib
import wfdb
from scipy import ndimage
from scipy import signal as sps


def steps_of(card: dict) -> list[tuple[str, list[float]]]:
    out = []
    for s in card["preprocess"]["steps"]:
        m = re.match(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$", s)
        args = [float(a) for a in m.group(2).split(",")] if m.group(2) else []
        out.append((m.group(1), args))
    return out


def prepare(sig_mv: np.ndarray, fs_in: float, names: list[str], card: dict) -> np.ndarray:
    """[samples, leads] from wfdb -> the model's input for one record."""
    inp = card["input"]
    pos = {n.lower(): i for i, n in enumerate(names)}
    x = sig_mv.T.astype(np.float32)[[pos[c.lower()] for c in inp["leads"]]]
    if inp["units"] == "uV":
        x = x * 1000.0
    fs = float(inp["fs"])
    if abs(fs_in - fs) > 1e-9:
        r = Fraction(fs / fs_in).limit_denominator(1000)
        x = sps.resample_poly(x, r.numerator, r.denominator, axis=-1).astype(np.float32)
    for name, a in steps_of(card):
        if name == "bandpass":
            nyq = fs / 2
            sos = sps.butter(
                int(a[2]), [a[0] / nyq, min(a[1], 0.9 * nyq) / nyq], "bandpass", output="sos"
            )
            x = sps.sosfiltfilt(sos, x, axis=-1).astype(np.float32)
        elif name == "highpass":
            sos = sps.butter(int(a[1]), a[0] / (fs / 2), "highpass", output="sos")
            x = sps.sosfiltfilt(sos, x, axis=-1).astype(np.float32)
        elif name == "median_baseline":
            x = (x - ndimage.median_filter(x, size=(1, int(a[0])), mode="nearest")).astype(
                np.float32
            )
        elif name == "mean_baseline":
            base = ndimage.uniform_filter1d(x, int(a[0]), axis=-1, mode="nearest")
            x = (x - base).astype(np.float32)
        elif name == "zscore":
            mu, sd = x.mean(axis=-1, keepdims=True), x.std(axis=-1, keepdims=True)
            x = ((x - mu) / np.maximum(sd, 1e-6)).astype(np.float32)
        elif name == "clip":
            x = np.clip(x, a[0], a[1]).astype(np.float32)
    n = round(fs * float(inp["seconds"]))
    x = x[:, :n] if x.shape[1] >= n else np.pad(x, ((0, 0), (0, n - x.shape[1])))
    x = x if inp["layout"] == "NCL" else x.T
    return np.ascontiguousarray(x[None], dtype=np.float32)


def activate(y: np.ndarray, how: str) -> np.ndarray:
    y = y.astype(np.float64)
    if how == "sigmoid":
        return 1 / (1 + np.exp(-y))
    if how == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return y


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("card")
    ap.add_argument("data")
    ap.add_argument("--fold", type=int)
    a = ap.parse_args()
    card = tomllib.loads(Path(a.card).read_text())
    d = Path(a.data)
    names = sorted(p.stem for p in d.glob("*.hea"))
    if a.fold is not None:
        with open(d / "metadata.csv") as f:
            keep = {r["record"] for r in csv.DictReader(f) if r["strat_fold"] == str(a.fold)}
        names = [n for n in names if n in keep]
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    feed = sess.get_inputs()[0].name
    out = {}
    for n in names:
        rec = wfdb.rdrecord(str(d / n))
        x = prepare(rec.p_signal, float(rec.fs), list(rec.sig_name), card)
        y = sess.run(None, {feed: x})[0]
        out[n] = activate(y, card["output"]["activation"])[0].tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
