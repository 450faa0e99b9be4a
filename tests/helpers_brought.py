"""Small non-ConvNeXt models the tests build, export to ONNX / IR and describe with a card."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import torch
from torch import nn

from ecgbench.data.records import STANDARD_LEADS


class TinyCNN(nn.Module):
    """Two plain 1-D convolutions, global pooling, a linear head; ``nlc`` takes [B, L, C]."""

    def __init__(
        self, leads: int = 12, classes: int = 26, nlc: bool = False, seed: int = 0, width: int = 8
    ):
        super().__init__()
        torch.manual_seed(seed)
        self.nlc = nlc
        self.body = nn.Sequential(
            nn.Conv1d(leads, width, 7, stride=4, padding=3),
            nn.ReLU(),
            nn.Conv1d(width, 2 * width, 5, stride=4, padding=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
        )
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.nlc:
            x = x.transpose(1, 2)
        return self.head(self.body(x).flatten(1))


def export_onnx(model: nn.Module, shape: tuple[int, int, int], path: Path) -> Path:
    """``torch.onnx.export`` with a static input shape, as a user would."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(), (torch.zeros(shape),), str(path), input_names=["x"], dynamo=False
        )
    return path


def export_ir(onnx_path: Path, xml: Path) -> Path:
    import openvino as ov

    ov.save_model(ov.convert_model(str(onnx_path)), str(xml), compress_to_fp16=False)
    return xml


def card_text(
    fs: float = 500,
    seconds: float = 10,
    leads: tuple[str, ...] = STANDARD_LEADS,
    layout: str = "NCL",
    steps: tuple[str, ...] = ("bandpass(1, 47, 3)", "zscore"),
    classes: tuple[str, ...] | None = None,
    labels: str = "snomed",
    activation: str = "sigmoid",
    threshold: str = "0.5",
    extra: str = "",
) -> str:
    if classes is None:
        from ecgbench.data.classes import SCORED_CLASSES

        classes = SCORED_CLASSES
    q = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"  # noqa: E731
    return (
        f'[input]\nfs = {fs}\nseconds = {seconds}\nleads = {q(leads)}\nlayout = "{layout}"\n'
        f'units = "mV"\n{extra}[preprocess]\nsteps = {q(steps)}\n[output]\nclasses = {q(classes)}\n'
        f'labels = "{labels}"\nactivation = "{activation}"\nthreshold = {threshold}\n'
    )


def write_card(path: Path, **kw) -> Path:
    path.write_text(card_text(**kw))
    return path
