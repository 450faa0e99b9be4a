"""Make the two example brought models: a small 1-D ResNet and a conv + GRU network (neither a
ConvNeXt), each trained for about a minute on PTB-XL folds 1-8, exported with torch.onnx.export,
and described by a card beside it. What a user of ecgbench does with their own model.

    nice -n 10 python docs/examples/byom/make_models.py DATA_DIR [--seconds 60]

Records are read with ecgbench's card reader so that training sees exactly what ecgbench feeds
the exported model; the thresholds in each card are chosen per class on fold 9 (max F1).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ecgbench.card import read_card
from ecgbench.data.card_input import load_card_set

HERE = Path(__file__).resolve().parent


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 7, stride, 3, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 7, 1, 3, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.skip = nn.Sequential(
            nn.Conv1d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm1d(c_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.skip(x))


class ResNet1d(nn.Module):
    """Stem + four residual stages, global average pooling, a linear head. Input [B, 12, 5000]."""

    def __init__(self, classes: int = 26, w: int = 24) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(12, w, 15, 2, 7, bias=False), nn.BatchNorm1d(w), nn.ReLU()
        )
        self.stages = nn.Sequential(
            ResBlock(w, w, 4),
            ResBlock(w, 2 * w, 4),
            ResBlock(2 * w, 2 * w, 2),
            ResBlock(2 * w, 4 * w, 2),
        )
        self.head = nn.Linear(4 * w, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)).mean(dim=-1))


class ConvGRU(nn.Module):
    """Strided convolutions, a bidirectional GRU over time, mean over time. Input [B, 1000, 12]
    (NLC: samples first, as many recurrent models take it)."""

    def __init__(self, classes: int = 26, w: int = 32) -> None:
        super().__init__()
        self.front = nn.Sequential(
            nn.Conv1d(12, w, 7, 2, 3), nn.ReLU(), nn.Conv1d(w, w, 5, 2, 2), nn.ReLU()
        )
        self.gru = nn.GRU(w, w, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * w, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.front(x.transpose(1, 2)).transpose(1, 2)
        y, _ = self.gru(h)
        return self.head(y.mean(dim=1))


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, seconds: float, seed: int = 0) -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    pos = y.mean(axis=0).clip(1e-3, None)
    loss_fn = nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor(((1 - pos) / pos) ** 0.5, dtype=torch.float32)
    )
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        idx = torch.from_numpy(rng.integers(0, len(x), 32))
        opt.zero_grad()
        loss = loss_fn(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
        steps += 1
    print(f"  {steps} steps in {time.perf_counter() - t0:.0f} s, last loss {loss.item():.3f}")
    model.eval()


def f1_thresholds(model: nn.Module, x: np.ndarray, y: np.ndarray) -> list[float]:
    with torch.no_grad():
        p = torch.sigmoid(model(torch.from_numpy(x))).numpy()
    out = []
    for k in range(y.shape[1]):
        best, thr = -1.0, 0.5
        for t in np.linspace(0.05, 0.95, 19):
            o = p[:, k] >= t
            tp = np.sum(o & (y[:, k] > 0))
            f = 2 * tp / max(1, o.sum() + (y[:, k] > 0).sum())
            if f > best:
                best, thr = f, float(t)
        out.append(round(thr, 2))
    return out


def write_card(template: Path, dest: Path, thresholds: list[float]) -> None:
    text = template.read_text().replace("threshold = 0.5", f"threshold = {thresholds}")
    dest.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=HERE)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name, net, shape in (
        ("resnet1d", ResNet1d(), (1, 12, 5000)),
        ("convgru", ConvGRU(), (1, 1000, 12)),
    ):
        card = read_card(HERE / f"{name}.card.in.toml")
        tr = load_card_set(a.data, card, folds=tuple(range(1, 9)))
        va = load_card_set(a.data, card, folds=(9,))
        print(f"{name}: {len(tr)} train records, {len(va)} validation records")
        train(net, tr.x, tr.labels, a.seconds)
        write_card(
            HERE / f"{name}.card.in.toml",
            a.out / f"{name}.toml",
            f1_thresholds(net, va.x, va.labels),
        )
        torch.onnx.export(
            net,
            (torch.zeros(shape),),
            str(a.out / f"{name}.onnx"),
            input_names=["ecg"],
            dynamo=False,
        )
        print(f"  wrote {a.out / f'{name}.onnx'} and {a.out / f'{name}.toml'}")


if __name__ == "__main__":
    main()
