"""What a run needs to know of one model, for a trained checkpoint or a brought file alike.

Its input (channels, default length, layout), a synthetic input for timing, its FLOPs and
parameters at a length, and its exporter; the rest of the run does not ask which kind it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.export.build import ExportOptions
from ecgbench.zoo import Zoo


@dataclass
class ModelFacts:
    name: str
    channels: int
    samples: int  # the model's own input length
    layout: str  # "NCL" | "NLC"
    synthetic: Callable[[int, int], np.ndarray]  # (batch, samples) -> input in the layout
    complexity: Callable[[int], tuple[int, int]]  # samples -> (flops, params)
    exporter: Callable[[], Any]  # -> ModelExporter | BroughtExporter, built when first asked
    checkpoint: Path | None  # what PyTorch runs; None for a brought model
    brought: bool = False
    card: Any = None  # ModelCard: the preprocessing and outputs (run --pipeline)
    min_samples: int = 1  # the shortest input its downsampling takes (bench/lengths.py)


def model_facts(model: str, zoo: Zoo, opts: ExportOptions) -> ModelFacts:
    entry = zoo.entries.get(model)
    if entry is not None and entry.brought:
        return _brought_facts(model, zoo, opts)
    from ecgbench.card import checkpoint_card
    from ecgbench.data.synthetic import synthetic_input
    from ecgbench.export.pipeline import ModelExporter
    from ecgbench.nets.flops import measure_complexity
    from ecgbench.zoo import checkpoint_from

    name, ckpt, path = checkpoint_from(model, zoo)
    ch = ckpt.config.in_channels

    def complexity(samples: int) -> tuple[int, int]:
        cx = measure_complexity(ckpt.config, (1, ch, samples))
        return cx.flops, cx.params

    return ModelFacts(
        name=name,
        channels=ch,
        samples=ckpt.preprocessing.eval_samples,
        layout="NCL",
        synthetic=lambda b, n: synthetic_input(ckpt.preprocessing, batch=b, samples=n),
        complexity=complexity,
        exporter=lambda: ModelExporter(name, ckpt, path, opts, zoo.entries.get(name)),
        checkpoint=path,
        min_samples=ckpt.config.min_samples,
        card=checkpoint_card(ckpt),
    )


def _brought_facts(model: str, zoo: Zoo, opts: ExportOptions) -> ModelFacts:
    from ecgbench.data.card_input import synthetic_card_input
    from ecgbench.export.brought import brought_exporter
    from ecgbench.nets.graph_flops import graph_complexity
    from ecgbench.zoo_brought import card_of

    entry = zoo.get(model)
    path = zoo.verify(model)
    card = card_of(entry)

    def complexity(samples: int) -> tuple[int, int]:
        if samples == card.samples:
            return entry.flops, entry.params
        try:
            cx = graph_complexity(path, card.input_shape(samples=samples))
        except Exception:  # a graph fixed to its own length: counted where it runs
            return entry.flops, entry.params
        return cx.flops, cx.params

    return ModelFacts(
        name=model,
        channels=card.channels,
        samples=card.samples,
        layout=card.layout,
        synthetic=lambda b, n: synthetic_card_input(card, batch=b, samples=n),
        complexity=complexity,
        exporter=lambda: brought_exporter(zoo, model, opts),
        checkpoint=None,
        brought=True,
        card=card,
    )
