"""The model families: every named size builds and brackets ConvNeXt's FLOPs, a checkpoint of each
family round-trips through the zoo (``weights_only=True``), old checkpoints stay ConvNeXt-1D, the
design space samples every family, and training configs name any family."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch
from conftest import make_checkpoint
from typer.testing import CliRunner

from ecgbench.checkpoint import load_checkpoint, save_checkpoint
from ecgbench.cli import app
from ecgbench.errors import BadInputError
from ecgbench.nets.convnext1d import ConvNeXt1DConfig
from ecgbench.nets.design_space import SPACE, sample_point, to_config
from ecgbench.nets.families import (
    FAMILIES,
    MODEL_SIZES,
    build_model,
    config_from_dict,
    config_to_dict,
    family_of,
)
from ecgbench.nets.flops import measure_complexity
from ecgbench.nets.resnet1d import ResNet1DConfig
from ecgbench.nets.transformer1d import Transformer1DConfig
from ecgbench.scaling.sweep import suggest
from ecgbench.train.config import resolve_train_config
from ecgbench.zoo import Zoo

NEW_FAMILIES = ("resnet1d", "transformer1d")
TINY_OF = {
    "convnext1d": ConvNeXt1DConfig(depths=(1, 1), widths=(8, 16), drop_path_rate=0.0),
    "resnet1d": ResNet1DConfig(depths=(1, 1), widths=(8, 16), stem_width=8),
    "resnet1d_bottleneck": ResNet1DConfig(
        block="bottleneck", depths=(1, 1), widths=(16, 32), stem_width=8
    ),
    "transformer1d": Transformer1DConfig(patch=10, dim=16, depth=1, heads=2, drop_path_rate=0.0),
    "transformer1d_cls": Transformer1DConfig(patch=10, dim=16, depth=2, heads=2, pool="cls"),
}


@pytest.mark.parametrize("name", sorted(MODEL_SIZES))
def test_every_named_size_builds_runs_and_round_trips_its_config(name: str) -> None:
    cfg = MODEL_SIZES[name]
    assert name.startswith(family_of(cfg) + "_")  # names say their family
    model = build_model(name).eval()
    assert isinstance(model, FAMILIES[family_of(cfg)].model_cls) and model.cfg == cfg
    with torch.no_grad():
        y = model(torch.randn(2, 12, 2048))  # a training crop
        z = model(torch.randn(1, 12, 5000))  # a 10 s record at 500 Hz
    assert y.shape == (2, 26) and z.shape == (1, 26)
    assert torch.isfinite(y).all() and torch.isfinite(z).all()
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_each_new_family_brackets_convnext_flops_range() -> None:
    atto = measure_complexity(MODEL_SIZES["convnext1d_atto"]).flops
    pico = measure_complexity(MODEL_SIZES["convnext1d_pico"]).flops
    for fam in NEW_FAMILIES:
        flops = [measure_complexity(c).flops for c in FAMILIES[fam].sizes.values()]
        assert len(flops) >= 2, fam
        assert min(flops) <= atto and max(flops) >= pico, (fam, flops)


def test_resnet_has_basic_and_bottleneck_blocks_and_the_transformer_both_poolings() -> None:
    blocks = {
        type(b).__name__
        for c in FAMILIES["resnet1d"].sizes.values()
        for b in build_model(c).modules()
    }
    assert {"BasicBlock", "BottleneckBlock"} <= blocks
    assert {c.pool for c in FAMILIES["transformer1d"].sizes.values()} == {"mean", "cls"}
    cls = build_model(TINY_OF["transformer1d_cls"])
    assert cls.cls_token is not None and build_model(TINY_OF["transformer1d"]).cls_token is None


def test_the_transformer_takes_any_length_and_its_positions_matter() -> None:
    model = build_model(TINY_OF["transformer1d"]).eval()
    x = torch.randn(1, 12, 1000)
    with torch.no_grad():
        y = model(x)
        # a crop of another length runs (fixed positions are computed per length) ...
        assert model(x[..., :370]).shape == (1, 26)
        # ... and the order of the patches changes the output (the positions are added)
        swapped = torch.cat((x[..., 500:], x[..., :500]), dim=-1)
        assert not torch.allclose(model(swapped), y, atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [
        {"family": "resnet1d", "block": "inverted"},
        {"family": "resnet1d", "block": "bottleneck", "widths": [10, 20], "depths": [1, 1]},
        {"family": "transformer1d", "dim": 30, "heads": 4},
        {"family": "transformer1d", "pool": "max"},
        {"family": "transformer1d", "kernel_size": 7},  # a ConvNeXt field
        {"family": "mlp"},
    ],
)
def test_bad_configs_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        config_from_dict(bad)


# --------------------------------------------------------------------------- checkpoints, zoo
@pytest.mark.parametrize("key", sorted(TINY_OF))
def test_a_checkpoint_of_each_family_round_trips_through_the_zoo(key: str, tmp_path: Path) -> None:
    cfg = TINY_OF[key]
    src = tmp_path / f"{key}.pt"
    save_checkpoint(make_checkpoint(cfg, command=f"ecgbench train --model {key}"), src)
    # plain tensors and primitives: torch's safe loader reads it, the family in its config
    payload = torch.load(src, map_location="cpu", weights_only=True)
    assert payload["config"].get("family", "convnext1d") == family_of(cfg)
    zoo = Zoo(tmp_path / "zoo")
    entry = zoo.add(src)
    assert entry.family == family_of(cfg)
    assert entry.params == sum(p.numel() for p in build_model(cfg).parameters())
    again = Zoo(tmp_path / "zoo").get(key)  # read back from the manifest
    assert again.family == family_of(cfg) and again.flops == entry.flops > 0
    ckpt = Zoo(tmp_path / "zoo").load(key)  # sha-verified, weights_only
    assert ckpt.config == cfg
    x = torch.randn(2, 12, 600)
    torch.testing.assert_close(ckpt.build_model()(x), make_checkpoint(cfg).build_model()(x))
    res = CliRunner().invoke(app, ["zoo", "list", "--zoo-dir", str(tmp_path / "zoo")])
    assert res.exit_code == 0 and family_of(cfg) in res.output, res.output


def test_committed_convnext_checkpoints_carry_no_family_and_load_as_convnext() -> None:
    zoo = Zoo(Path(__file__).resolve().parents[1] / "models")
    for name in ("convnext1d_atto", "convnext1d_femto", "convnext1d_pico"):
        e = zoo.get(name)
        with zipfile.ZipFile(e.path) as zf:  # the payload as written before families existed
            data = next(n for n in zf.namelist() if n.endswith("data.pkl"))
            assert b"family" not in zf.read(data)
        assert e.family == "convnext1d"
        ckpt = zoo.load(name)
        assert isinstance(ckpt.config, ConvNeXt1DConfig)
        assert "family" not in config_to_dict(ckpt.config)  # and a ConvNeXt is written as before


def test_a_checkpoint_with_an_unknown_family_is_one_clear_line(tmp_path: Path) -> None:
    p = tmp_path / "odd.pt"
    payload = make_checkpoint(TINY_OF["resnet1d"]).to_payload()
    payload["config"]["family"] = "mlp"
    torch.save(payload, p)
    with pytest.raises(BadInputError, match="unknown model family 'mlp'") as e:
        load_checkpoint(p)
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------- training configs
def test_train_config_names_any_family(tmp_path: Path) -> None:
    model, _ = resolve_train_config("resnet1d_atto", None, {})
    assert model == MODEL_SIZES["resnet1d_atto"]
    toml = tmp_path / "t.toml"
    toml.write_text('[model]\nfamily = "transformer1d"\ndim = 32\ndepth = 2\nheads = 2\n')
    model, _ = resolve_train_config(None, toml, {})
    assert model == Transformer1DConfig(dim=32, depth=2, heads=2)
    toml.write_text('[model]\nname = "transformer1d_atto"\npool = "cls"\n')
    model, _ = resolve_train_config(None, toml, {})
    assert model == replace(MODEL_SIZES["transformer1d_atto"], pool="cls")
    toml.write_text('[model]\nfamily = "mlp"\n')
    with pytest.raises(BadInputError, match="unknown model family"):
        resolve_train_config(None, toml, {})


# --------------------------------------------------------------------------- design space
def test_the_design_space_samples_every_family_and_each_point_builds() -> None:
    rng = np.random.default_rng(3)
    points = [sample_point(rng) for _ in range(60)]
    assert {p.family for p in points} == set(SPACE["family"]) == set(FAMILIES)
    seen: dict[str, int] = {}
    for p in points:
        cfg = to_config(p, fs=100.0)
        assert family_of(cfg) == p.family
        seen[p.family] = seen.get(p.family, 0) + 1
        if seen[p.family] <= 2:  # a few of each really build and run at 100 Hz
            y = build_model(cfg).eval()(torch.zeros(1, 12, 1000))
            assert y.shape == (1, 26) and torch.isfinite(y).all()
    # the same point in each family: ResNet on ConvNeXt's stages, the transformer's patch from fs
    p = replace(points[0], kernel_size=5)
    cnx = to_config(replace(p, family="convnext1d"))
    res = to_config(replace(p, family="resnet1d"))
    assert (res.depths, res.widths, res.kernel_size) == (cnx.depths, cnx.widths, 5)
    vit = to_config(replace(p, family="transformer1d"), fs=500.0)
    assert vit.patch == 50 and vit.depth == p.depth and vit.mlp_ratio == p.expansion
    assert to_config(replace(p, family="transformer1d"), fs=100.0).patch == 10


def test_optuna_suggests_every_family() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    families = set()
    for _ in range(30):
        point, _, _ = suggest(study.ask())
        families.add(point.family)
        assert family_of(to_config(point)) == point.family
    assert families == set(FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_says_its_shortest_input_and_takes_it(family: str) -> None:
    """``run`` reads ``config.min_samples`` of any family (``run --model all`` crashed on the
    ResNet and transformer zoo models when it read ConvNeXt's fields)."""
    for cfg in FAMILIES[family].sizes.values():
        net = build_model(cfg).eval()
        with torch.no_grad():
            assert net(torch.zeros(1, cfg.in_channels, cfg.min_samples)).shape == (1, 26)


def test_run_facts_of_every_shipped_zoo_model() -> None:
    from ecgbench.bench.model_facts import model_facts
    from ecgbench.export.build import ExportOptions
    from ecgbench.zoo import Zoo

    z = Zoo()
    families = {z.get(n).family for n in z.names()}
    assert {"convnext1d", "resnet1d", "transformer1d"} <= families
    for n in z.names():
        mf = model_facts(n, z, ExportOptions())
        assert 1 <= mf.min_samples <= mf.samples and mf.card is not None
