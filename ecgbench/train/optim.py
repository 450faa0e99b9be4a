"""The three optimisers of the seed study's design space."""

from __future__ import annotations

import torch

OPTIMIZERS = ("adamw", "sgd", "sgd-momentum")


def make_optimizer(
    name: str, params, lr: float, weight_decay: float = 0.05
) -> torch.optim.Optimizer:
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd-momentum":
        return torch.optim.SGD(
            params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay
        )
    raise ValueError(f"unknown optimiser {name!r}; choose one of {', '.join(OPTIMIZERS)}")
