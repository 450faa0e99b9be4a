"""The design space of the sweeps: sampled points, RegNet widths, optuna's suggestions."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import optuna
import torch

from ecgbench.nets.convnext1d import ConvNeXt1D
from ecgbench.nets.design_space import (
    MAX_STAGES,
    SPACE,
    DesignPoint,
    regnet_widths,
    sample_point,
    to_config,
)
from ecgbench.scaling.sweep import suggest


def stage_runs(widths: list[int]) -> list[tuple[int, int]]:
    """(width, blocks) for each run of equal widths."""
    return [(w, len(list(g))) for w, g in itertools.groupby(widths)]


def test_sampled_design_points_map_to_valid_configs() -> None:
    rng = np.random.default_rng(0)
    # the stage derivation, checked on ConvNeXt-1D (ResNet-1D takes the same stages; the family
    # axis itself: test_nets_families)
    points = [replace(sample_point(rng), family="convnext1d") for _ in range(400)]
    corners = [
        DesignPoint(depth=d, w0=w0, wa=wa, wm=wm, expansion=2, kernel_size=3)
        for d in SPACE["depth"]
        for w0 in SPACE["w0"]
        for wa in SPACE["wa"]
        for wm in SPACE["wm"]
    ]
    merged = 0
    for p in points + corners:
        assert SPACE["depth"][0] <= p.depth <= SPACE["depth"][1]
        assert SPACE["w0"][0] <= p.w0 <= SPACE["w0"][1] and p.w0 % 8 == 0
        assert SPACE["wa"][0] <= p.wa <= SPACE["wa"][1]
        assert SPACE["wm"][0] <= p.wm <= SPACE["wm"][1]
        assert p.expansion in SPACE["expansion"] and p.kernel_size in SPACE["kernel_size"]
        widths = regnet_widths(p.depth, p.w0, p.wa, p.wm)
        assert len(widths) == p.depth
        assert all(a <= b for a, b in itertools.pairwise(widths)), widths
        assert all(w % 8 == 0 and w >= 8 for w in widths), widths
        cfg = to_config(p)
        assert 1 <= cfg.stages <= MAX_STAGES and len(cfg.widths) == cfg.stages
        assert sum(cfg.depths) == p.depth and all(w % 8 == 0 for w in cfg.widths)
        assert (cfg.kernel_size, cfg.expansion, cfg.num_classes) == (p.kernel_size, p.expansion, 26)
        runs = stage_runs(widths)
        if len(runs) <= MAX_STAGES:  # one stage per run of equal widths
            assert list(zip(cfg.widths, cfg.depths, strict=True)) == runs
        else:  # the first stages as derived, the rest merged into the last at the widest width
            merged += 1
            k = MAX_STAGES - 1
            assert list(zip(cfg.widths[:k], cfg.depths[:k], strict=True)) == runs[:k]
            assert cfg.depths[-1] == sum(n for _, n in runs[k:])
            assert cfg.widths[-1] == max(w for w, _ in runs[k:])
    assert merged > 0  # the merging branch was exercised
    assert len({to_config(p).stages for p in points}) >= 3  # the stage count varies
    # a few of them really build and run
    for p in points[:4]:
        y = ConvNeXt1D(to_config(p)).eval()(torch.zeros(1, 12, 256))
        assert y.shape == (1, 26) and torch.isfinite(y).all()


def test_regnet_widths_known_values() -> None:
    # u = 16 + 16 j -> 16, 32, 48, 64 snapped to 16 * 2^k = 16, 32, 64, 64
    assert regnet_widths(4, 16, 16.0, 2.0) == [16, 32, 64, 64]
    cfg = to_config(DesignPoint(depth=4, w0=16, wa=16.0, wm=2.0, expansion=4, kernel_size=7))
    assert (cfg.depths, cfg.widths) == ((1, 1, 2), (16, 32, 64))


def test_optuna_suggestions_stay_in_the_design_space() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        point, optimizer, lr = suggest(study.ask())
        assert SPACE["depth"][0] <= point.depth <= SPACE["depth"][1] and point.w0 % 8 == 0
        assert SPACE["wm"][0] <= point.wm <= SPACE["wm"][1]
        assert point.kernel_size in SPACE["kernel_size"] and point.expansion in SPACE["expansion"]
        assert point.family in SPACE["family"]
        assert optimizer in ("adamw", "sgd", "sgd-momentum") and 1e-4 <= lr <= 1e-1
        to_config(point)
