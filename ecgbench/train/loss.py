"""Asymmetric loss (Ridnik et al., ICCV 2021) for heavily imbalanced multi-label targets."""

from __future__ import annotations

import torch
from torch import nn


class AsymmetricLoss(nn.Module):
    """Focal-style down-weighting of easy negatives plus probability shifting (``clip``).

    Defaults are the seed study's: gamma_neg 4, gamma_pos 1, clip 0.05. Sum over classes, mean over
    the batch, so the learning rate does not depend on the batch size.
    """

    def __init__(
        self, gamma_neg: float = 4.0, gamma_pos: float = 1.0, clip: float = 0.05, eps: float = 1e-8
    ) -> None:
        super().__init__()
        self.gamma_neg = gamma_neg
        self.gamma_pos = gamma_pos
        self.clip = clip
        self.eps = eps

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits)
        p_neg = 1.0 - p
        if self.clip > 0:
            p_neg = (p_neg + self.clip).clamp(max=1.0)
        loss = targets * torch.log(p.clamp(min=self.eps)) + (1 - targets) * torch.log(
            p_neg.clamp(min=self.eps)
        )
        if self.gamma_neg > 0 or self.gamma_pos > 0:
            pt = p * targets + p_neg * (1 - targets)
            gamma = self.gamma_pos * targets + self.gamma_neg * (1 - targets)
            loss = loss * torch.pow(1.0 - pt, gamma)
        return -loss.sum(dim=1).mean()
