"""The design space the sweep samples: the seed study's RegNet-style parameters, mapped to ConvNeXt-1D.

RegNet (Radosavovic et al., 2020) describes a network by a few numbers instead of per-stage lists:
depth ``d``, initial width ``w0``, slope ``wa`` and multiplier ``wm``. Per-block widths
``u_j = w0 + wa * j`` are snapped to the geometric grid ``w0 * wm**k``; blocks of equal width form a
stage, so the number of stages is derived, not chosen. The seed's bottleneck multiplier becomes the
ConvNeXt expansion, its kernel size the depthwise kernel. Group width and SE ratio have no
counterpart in a ConvNeXt block (depthwise conv, no squeeze-excitation) and are left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ecgbench.nets.convnext1d import ConvNeXt1DConfig


@dataclass(frozen=True)
class DesignPoint:
    depth: int
    w0: int
    wa: float
    wm: float
    expansion: int
    kernel_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Ranges sized for this project's CPU budget (the seed went to 14.7 M parameters on GPUs).
SPACE: dict[str, tuple] = {
    "depth": (4, 14),
    "w0": (8, 48),
    "wa": (4.0, 32.0),
    "wm": (1.5, 3.0),
    "expansion": (2, 3, 4),
    "kernel_size": (3, 5, 7, 9, 11),
}
MAX_STAGES = 5


def regnet_widths(depth: int, w0: int, wa: float, wm: float, quantum: int = 8) -> list[int]:
    """Per-block widths, snapped to ``w0 * wm**k`` and to multiples of ``quantum``."""
    u = w0 + wa * np.arange(depth)
    k = np.round(np.log(u / w0) / math.log(wm))
    w = w0 * np.power(wm, k)
    return [max(quantum, int(round(v / quantum) * quantum)) for v in w]


def to_config(p: DesignPoint, num_classes: int = 26) -> ConvNeXt1DConfig:
    widths = regnet_widths(p.depth, p.w0, p.wa, p.wm)
    stage_w: list[int] = []
    stage_d: list[int] = []
    for w in widths:
        if stage_w and stage_w[-1] == w:
            stage_d[-1] += 1
        else:
            stage_w.append(w)
            stage_d.append(1)
    while len(stage_w) > MAX_STAGES:  # merge the last stages: each stage halves the length
        stage_d[-2] += stage_d[-1]
        stage_w[-2] = max(stage_w[-2], stage_w[-1])
        stage_w.pop()
        stage_d.pop()
    return ConvNeXt1DConfig(
        num_classes=num_classes,
        depths=tuple(stage_d),
        widths=tuple(stage_w),
        kernel_size=p.kernel_size,
        expansion=p.expansion,
    )


def sample_point(rng: np.random.Generator) -> DesignPoint:
    return DesignPoint(
        depth=int(rng.integers(SPACE["depth"][0], SPACE["depth"][1] + 1)),
        w0=int(rng.integers(SPACE["w0"][0] // 8, SPACE["w0"][1] // 8 + 1) * 8),
        wa=float(rng.uniform(*SPACE["wa"])),
        wm=float(rng.uniform(*SPACE["wm"])),
        expansion=int(rng.choice(SPACE["expansion"])),
        kernel_size=int(rng.choice(SPACE["kernel_size"])),
    )
