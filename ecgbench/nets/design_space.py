"""The design space the sweep samples: the seed study's RegNet-style parameters, for three families.

RegNet (Radosavovic et al., 2020) describes a network by a few numbers instead of per-stage lists:
depth ``d``, initial width ``w0``, slope ``wa`` and multiplier ``wm``. Per-block widths
``u_j = w0 + wa * j`` are snapped to the geometric grid ``w0 * wm**k``; blocks of equal width form a
stage, so the number of stages is derived, not chosen. The seed's bottleneck multiplier becomes the
ConvNeXt expansion, its kernel size the depthwise kernel. Group width and SE ratio have no
counterpart in a ConvNeXt block (depthwise conv, no squeeze-excitation) and are left out.

The family is one more axis. ResNet-1D takes the same stages with basic blocks (the expansion has no
counterpart there, as group width has none in ConvNeXt). The transformer is isotropic: ``depth``
encoder blocks at the RegNet width a quarter of the way in (so its FLOPs span the ConvNeXts'), the
expansion as its MLP ratio, and the kernel size as the patch length in 20 ms units (3-11 -> 60-220 ms
per token: what one token sees, as the kernel sets what one convolution sees).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ecgbench.nets.convnext1d import ConvNeXt1DConfig
from ecgbench.nets.families import DEFAULT_FAMILY, FAMILIES, ModelConfig
from ecgbench.nets.resnet1d import ResNet1DConfig
from ecgbench.nets.transformer1d import Transformer1DConfig


@dataclass(frozen=True)
class DesignPoint:
    depth: int
    w0: int
    wa: float
    wm: float
    expansion: int
    kernel_size: int
    family: str = DEFAULT_FAMILY

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
    "family": tuple(FAMILIES),
}
MAX_STAGES = 5


def regnet_widths(depth: int, w0: int, wa: float, wm: float, quantum: int = 8) -> list[int]:
    """Per-block widths, snapped to ``w0 * wm**k`` and to multiples of ``quantum``."""
    u = w0 + wa * np.arange(depth)
    k = np.round(np.log(u / w0) / math.log(wm))
    w = w0 * np.power(wm, k)
    return [max(quantum, int(round(v / quantum) * quantum)) for v in w]


def _stages(p: DesignPoint) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(depths, widths) per stage: runs of equal width, at most MAX_STAGES of them."""
    stage_w: list[int] = []
    stage_d: list[int] = []
    for w in regnet_widths(p.depth, p.w0, p.wa, p.wm):
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
    return tuple(stage_d), tuple(stage_w)


def _transformer(p: DesignPoint, num_classes: int, fs: float) -> Transformer1DConfig:
    dim = regnet_widths(p.depth, p.w0, p.wa, p.wm)[p.depth // 4]
    heads = 4 if dim >= 64 else 2 if dim >= 32 else 1  # dim is a multiple of 8: even head widths
    return Transformer1DConfig(
        num_classes=num_classes,
        patch=max(2, round(p.kernel_size * fs / 50.0)),
        dim=dim,
        depth=p.depth,
        heads=heads,
        mlp_ratio=p.expansion,
    )


def to_config(p: DesignPoint, num_classes: int = 26, fs: float = 100.0) -> ModelConfig:
    """The model config of a design point in its family (``fs`` sets the transformer's patch)."""
    if p.family == "transformer1d":
        return _transformer(p, num_classes, fs)
    depths, widths = _stages(p)
    if p.family == "resnet1d":
        return ResNet1DConfig(
            num_classes=num_classes,
            depths=depths,
            widths=widths,
            stem_width=widths[0],
            kernel_size=p.kernel_size,
        )
    if p.family != DEFAULT_FAMILY:
        raise ValueError(f"unknown model family {p.family!r}; known: {', '.join(FAMILIES)}")
    return ConvNeXt1DConfig(
        num_classes=num_classes,
        depths=depths,
        widths=widths,
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
        family=str(rng.choice(SPACE["family"])),
    )
