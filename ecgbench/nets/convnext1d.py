"""ConvNeXt-1D for 12-lead ECG classification.

The ConvNeXt recipe (Liu et al., 2022) in one dimension: a patchify stem, stages of inverted-bottleneck
blocks with a large depthwise kernel, LayerNorm-and-strided-conv downsampling between stages, global
average pooling and a linear head. Layout follows timm model files: config, blocks, model, builders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

__all__ = [
    "MODEL_SIZES",
    "Block",
    "ConvNeXt1D",
    "ConvNeXt1DConfig",
    "build_model",
    "config_for",
]


@dataclass(frozen=True)
class ConvNeXt1DConfig:
    """Everything that defines the architecture; stored inside every checkpoint."""

    in_channels: int = 12
    num_classes: int = 26
    depths: tuple[int, ...] = (2, 2, 6, 2)
    widths: tuple[int, ...] = (32, 64, 128, 256)
    stem_stride: int = 4
    kernel_size: int = 7
    expansion: int = 4
    drop_path_rate: float = 0.1
    layer_scale_init: float = 1e-6
    head_dropout: float = 0.0

    def __post_init__(self) -> None:
        if len(self.depths) != len(self.widths) or not self.depths:
            raise ValueError("depths and widths must be non-empty and of equal length")
        if any(d < 1 for d in self.depths) or any(w < 1 for w in self.widths):
            raise ValueError("every depth and width must be >= 1")
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd so that 'same' padding is symmetric")

    @property
    def stages(self) -> int:
        return len(self.depths)

    @property
    def min_samples(self) -> int:
        """The shortest input every downsampling still has a sample for."""
        return self.stem_stride * 2 ** (self.stages - 1)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConvNeXt1DConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a [B, C, T] tensor."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class DropPath(nn.Module):
    """Stochastic depth per sample; identity at inference."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Block(nn.Module):
    """dwconv k -> LayerNorm -> Linear(e*C) -> GELU -> Linear(C) -> LayerScale -> DropPath -> +x"""

    def __init__(
        self, dim: int, kernel_size: int, expansion: int, drop_path: float, ls_init: float
    ) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, expansion * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(expansion * dim, dim)
        self.gamma = nn.Parameter(ls_init * torch.ones(dim)) if ls_init > 0 else None
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.dwconv(x).transpose(1, 2)  # [B, T, C]
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        if self.gamma is not None:
            x = x * self.gamma
        return shortcut + self.drop_path(x.transpose(1, 2))


class ConvNeXt1D(nn.Module):
    def __init__(self, cfg: ConvNeXt1DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w0 = cfg.widths[0]
        self.stem = nn.Sequential(
            nn.Conv1d(cfg.in_channels, w0, cfg.stem_stride, stride=cfg.stem_stride),
            ChannelsFirstLayerNorm(w0),
        )
        rates = torch.linspace(0, cfg.drop_path_rate, sum(cfg.depths)).tolist()
        self.downsample = nn.ModuleList()
        self.stages = nn.ModuleList()
        k = 0
        for i, (depth, width) in enumerate(zip(cfg.depths, cfg.widths, strict=True)):
            if i == 0:
                self.downsample.append(nn.Identity())
            else:
                self.downsample.append(
                    nn.Sequential(
                        ChannelsFirstLayerNorm(cfg.widths[i - 1]),
                        nn.Conv1d(cfg.widths[i - 1], width, 2, stride=2),
                    )
                )
            blocks = [
                Block(width, cfg.kernel_size, cfg.expansion, rates[k + j], cfg.layer_scale_init)
                for j in range(depth)
            ]
            self.stages.append(nn.Sequential(*blocks))
            k += depth
        self.norm = nn.LayerNorm(cfg.widths[-1], eps=1e-6)
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(cfg.widths[-1], cfg.num_classes)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for down, stage in zip(self.downsample, self.stages, strict=True):
            x = stage(down(x))
        return self.norm(x.mean(dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 12, T] preprocessed ECG -> [B, num_classes] logits."""
        return self.head(self.head_drop(self.forward_features(x)))


# Named sizes spanning ~0.1 M to ~8 M parameters. The zoo trains a few of them.
MODEL_SIZES: dict[str, ConvNeXt1DConfig] = {
    "convnext1d_atto": ConvNeXt1DConfig(depths=(1, 1, 2, 1), widths=(16, 32, 48, 64)),
    "convnext1d_femto": ConvNeXt1DConfig(depths=(2, 2, 4, 2), widths=(24, 48, 96, 128)),
    "convnext1d_pico": ConvNeXt1DConfig(depths=(2, 2, 6, 2), widths=(32, 64, 128, 192)),
    "convnext1d_nano": ConvNeXt1DConfig(depths=(2, 2, 8, 2), widths=(48, 96, 192, 320)),
    "convnext1d_tiny": ConvNeXt1DConfig(depths=(3, 3, 9, 3), widths=(48, 96, 192, 416)),
}


def config_for(name: str, **overrides: Any) -> ConvNeXt1DConfig:
    if name not in MODEL_SIZES:
        raise KeyError(f"unknown model size {name!r}; known: {', '.join(MODEL_SIZES)}")
    d = MODEL_SIZES[name].to_dict()
    d.update(overrides)
    return ConvNeXt1DConfig.from_dict(d)


def build_model(cfg: ConvNeXt1DConfig | str, **overrides: Any) -> ConvNeXt1D:
    if isinstance(cfg, str):
        cfg = config_for(cfg, **overrides)
    elif overrides:
        cfg = ConvNeXt1DConfig.from_dict({**cfg.to_dict(), **overrides})
    return ConvNeXt1D(cfg)
