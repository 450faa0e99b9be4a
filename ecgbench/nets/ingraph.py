"""Preprocessing as graph layers: the band-pass and the per-lead z-score in front of a model.

A model exported with these layers takes the raw window (the model's rate, mV) and OpenVINO runs
the whole pipeline, INT8 included. The band-pass is :class:`ecgbench.data.fir.TwoStageFir` as
fixed depthwise convolutions, each input extended at both ends as ``sosfiltfilt`` extends it (odd
reflection), so the layers are zero-phase like the scipy pipeline they stand in for.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecgbench.data.fir import TwoStageFir


class OddExtend(nn.Module):
    """``2 x[0] - x[p..1]`` before and ``2 x[-1] - x[-2..-p-1]`` after (scipy's "odd" padding)."""

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pad
        head = 2 * x[..., :1] - x[..., 1 : p + 1].flip(-1)
        tail = 2 * x[..., -1:] - x[..., -p - 1 : -1].flip(-1)
        return torch.cat([head, x, tail], dim=-1)


class DepthwiseFir(nn.Module):
    """One fixed FIR per lead, centred (zero-phase for symmetric taps), odd-extended."""

    def __init__(self, taps: np.ndarray, leads: int) -> None:
        super().__init__()
        self.extend = OddExtend(len(taps) // 2)
        w = torch.tensor(np.ascontiguousarray(taps[::-1]), dtype=torch.float32)
        self.register_buffer("weight", w.repeat(leads, 1, 1))
        self.leads = leads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(self.extend(x), self.weight, groups=self.leads)


class TwoStageBandpass(nn.Module):
    """Low-pass at the high edge, minus its low-edge low-pass computed at a lower rate."""

    def __init__(self, design: TwoStageFir, leads: int) -> None:
        super().__init__()
        self.lowpass = DepthwiseFir(design.lowpass, leads)
        self.baseline = DepthwiseFir(design.baseline, leads)
        self.decimation = design.decimation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lowpass(x)
        u = F.avg_pool1d(y, self.decimation, ceil_mode=True)
        b = F.interpolate(self.baseline(u), size=y.shape[-1], mode="linear", align_corners=False)
        return y - b


class LeadZScore(nn.Module):
    """Per lead over time, a flat lead to zeros (``data.preprocess.zscore``)."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(dim=-1, keepdim=True)
        sd = (x - mu).pow(2).mean(dim=-1, keepdim=True).sqrt()
        return (x - mu) / torch.clamp(sd, min=self.eps)


class WithPreprocessing(nn.Module):
    """The raw window in, the model's logits out."""

    def __init__(self, net: nn.Module, design: TwoStageFir, leads: int = 12) -> None:
        super().__init__()
        self.bandpass = TwoStageBandpass(design, leads)
        self.zscore = LeadZScore()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.zscore(self.bandpass(x)))


def with_preprocessing(net: nn.Module, design: TwoStageFir, leads: int = 12) -> WithPreprocessing:
    return WithPreprocessing(net.eval(), design, leads).eval()
