"""The model families: which config and module a family name means, and its named sizes.

A checkpoint's config records its family under ``"family"``; a config without one is ConvNeXt-1D (every
checkpoint written before there were other families), so old checkpoints and the zoo load unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from ecgbench.nets import convnext1d, resnet1d, transformer1d
from ecgbench.nets.convnext1d import ConvNeXt1DConfig
from ecgbench.nets.resnet1d import ResNet1DConfig
from ecgbench.nets.transformer1d import Transformer1DConfig

ModelConfig = ConvNeXt1DConfig | ResNet1DConfig | Transformer1DConfig
DEFAULT_FAMILY = "convnext1d"


@dataclass(frozen=True)
class Family:
    name: str
    config_cls: type[ModelConfig]
    model_cls: type[nn.Module]
    sizes: dict[str, ModelConfig]


FAMILIES: dict[str, Family] = {
    "convnext1d": Family(
        "convnext1d", ConvNeXt1DConfig, convnext1d.ConvNeXt1D, convnext1d.MODEL_SIZES
    ),
    "resnet1d": Family("resnet1d", ResNet1DConfig, resnet1d.ResNet1D, resnet1d.MODEL_SIZES),
    "transformer1d": Family(
        "transformer1d",
        Transformer1DConfig,
        transformer1d.Transformer1D,
        transformer1d.MODEL_SIZES,
    ),
}
# every named size of every family; names are unique across families (each starts with its family)
MODEL_SIZES: dict[str, ModelConfig] = {n: c for f in FAMILIES.values() for n, c in f.sizes.items()}


def family_of(cfg: ModelConfig) -> str:
    for f in FAMILIES.values():
        if isinstance(cfg, f.config_cls):
            return f.name
    raise TypeError(f"not a model config: {type(cfg).__name__}")


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def config_to_dict(cfg: ModelConfig) -> dict[str, Any]:
    """The config as a checkpoint stores it: the fields plus its family (ConvNeXt: fields only)."""
    d = cfg.to_dict()
    fam = family_of(cfg)
    return d if fam == DEFAULT_FAMILY else {"family": fam, **d}


def config_from_dict(d: dict[str, Any]) -> ModelConfig:
    """A stored config -> the dataclass of its family (no ``family`` key: ConvNeXt-1D)."""
    d = dict(d)
    fam = get_family(str(d.pop("family", DEFAULT_FAMILY)))
    return fam.config_cls.from_dict(d)


def config_for(name: str, **overrides: Any) -> ModelConfig:
    """A named size of any family, with field overrides."""
    if name not in MODEL_SIZES:
        raise KeyError(f"unknown model size {name!r}; known: {', '.join(MODEL_SIZES)}")
    cfg = MODEL_SIZES[name]
    return type(cfg).from_dict({**cfg.to_dict(), **overrides})


def build_model(cfg: ModelConfig | str, **overrides: Any) -> nn.Module:
    """The untrained module of a config or a named size, whatever its family."""
    if isinstance(cfg, str):
        cfg = config_for(cfg, **overrides)
    elif overrides:
        cfg = type(cfg).from_dict({**cfg.to_dict(), **overrides})
    return get_family(family_of(cfg)).model_cls(cfg)
