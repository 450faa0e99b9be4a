"""FLOPs and parameter counts measured with torch.utils.flop_counter (no hand counting)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from ecgbench.nets.families import ModelConfig, build_model

DEFAULT_INPUT = (1, 12, 5000)


@dataclass(frozen=True)
class Complexity:
    params: int
    flops: int  # multiply-adds count as 2 FLOPs, as FlopCounterMode reports
    input_shape: tuple[int, ...]


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def measure_complexity(
    model: torch.nn.Module | ModelConfig, input_shape: tuple[int, ...] = DEFAULT_INPUT
) -> Complexity:
    if not isinstance(model, torch.nn.Module):
        model = build_model(model)
    model = model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(torch.zeros(input_shape))
    return Complexity(
        params=count_params(model), flops=int(fc.get_total_flops()), input_shape=input_shape
    )
