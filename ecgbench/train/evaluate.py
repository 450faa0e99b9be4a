"""Batched inference of a PyTorch model on preprocessed arrays."""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    was_training = model.training
    model.eval()
    out = [
        model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size]))).numpy()
        for i in range(0, len(x), batch_size)
    ]
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, model.cfg.num_classes), np.float32)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def predict_proba(model: torch.nn.Module, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    return sigmoid(predict_logits(model, x, batch_size))
