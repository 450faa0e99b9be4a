"""FLOPs and parameters counted from the graph agree with torch's counter on the zoo ConvNeXts,
and the ConvNeXt card prepares a record exactly as the checkpoint's own preprocessing does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import synthetic_uv
from helpers_brought import TinyCNN

from ecgbench.card import checkpoint_card
from ecgbench.data.card_input import card_signal
from ecgbench.data.preprocess import preprocess_signal
from ecgbench.data.records import STANDARD_LEADS
from ecgbench.export.openvino_export import convert_to_openvino
from ecgbench.nets.flops import measure_complexity
from ecgbench.nets.graph_flops import graph_complexity
from ecgbench.zoo import Zoo

ZOO = Zoo()


@pytest.mark.skipif(len(ZOO.entries) < 3, reason="the three zoo ConvNeXts are not in models/")
@pytest.mark.parametrize("name", sorted(ZOO.entries))
def test_graph_count_agrees_with_torch_on_the_zoo_convnexts(name: str) -> None:
    ckpt = ZOO.load(name)
    model = ckpt.build_model()
    shape = (1, 12, ckpt.preprocessing.eval_samples)
    g = graph_complexity(convert_to_openvino(model, torch.zeros(shape)), shape)
    t = measure_complexity(model, shape)
    assert abs(g.flops / t.flops - 1) < 0.02, (g.flops, t.flops)
    assert abs(g.params / t.params - 1) < 0.02, (g.params, t.params)
    assert t.flops == ZOO.entries[name].flops  # the manifest's figure is torch's count


def test_graph_count_of_a_plain_cnn_from_onnx(tmp_path) -> None:
    from helpers_brought import export_onnx

    m = TinyCNN(classes=5)
    p = export_onnx(m, (1, 12, 5000), tmp_path / "m.onnx")
    g = graph_complexity(p, (1, 12, 5000))
    t = measure_complexity(m, (1, 12, 5000))
    assert g.flops == t.flops and g.params == t.params


@pytest.mark.skipif(not ZOO.entries, reason="no zoo checkpoint in models/")
def test_the_convnext_card_prepares_records_as_its_checkpoint_does() -> None:
    ckpt = ZOO.load(ZOO.names()[0])
    card = checkpoint_card(ckpt)
    raw = synthetic_uv(fs=250, seconds=12.0).astype(np.float32) / 1000.0
    ours = card_signal(raw, 250.0, list(STANDARD_LEADS), card)
    theirs = preprocess_signal(raw, 250.0, ckpt.preprocessing)[:, : card.samples]
    np.testing.assert_array_equal(ours, theirs)
