"""ResNet-1D for 12-lead ECG classification.

He et al.'s residual network (2016) in one dimension, as the seed study's ``resnet.py`` and the PTB-XL
benchmark's ``xresnet1d`` (Strodthoff et al., 2021) use it: a strided convolutional stem and max-pool,
stages of basic (two k-convs) or bottleneck (1 -> k -> 1, expansion 4) blocks with BatchNorm, the first
block of each later stage halving the length, global average pooling and a linear head. Layout as in
``convnext1d``: config, blocks, model, named sizes, builders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
from torch import nn

__all__ = [
    "MODEL_SIZES",
    "BasicBlock",
    "BottleneckBlock",
    "ResNet1D",
    "ResNet1DConfig",
    "build_model",
    "config_for",
]

BLOCKS = ("basic", "bottleneck")


@dataclass(frozen=True)
class ResNet1DConfig:
    """Everything that defines the architecture; stored inside every checkpoint."""

    family: ClassVar[str] = "resnet1d"

    in_channels: int = 12
    num_classes: int = 26
    block: str = "basic"
    depths: tuple[int, ...] = (2, 2, 2, 2)
    widths: tuple[int, ...] = (64, 128, 256, 512)  # block output widths (bottleneck: 4x inner)
    stem_width: int = 32
    stem_kernel: int = 15
    stem_stride: int = 4
    kernel_size: int = 7
    expansion: int = 4  # bottleneck only: output width / inner width
    head_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.block not in BLOCKS:
            raise ValueError(f"block must be one of {', '.join(BLOCKS)}, got {self.block!r}")
        if len(self.depths) != len(self.widths) or not self.depths:
            raise ValueError("depths and widths must be non-empty and of equal length")
        if any(d < 1 for d in self.depths) or any(w < 1 for w in self.widths):
            raise ValueError("every depth and width must be >= 1")
        if self.kernel_size % 2 == 0 or self.stem_kernel % 2 == 0:
            raise ValueError("kernel sizes must be odd so that 'same' padding is symmetric")
        if self.block == "bottleneck" and any(w % self.expansion for w in self.widths):
            raise ValueError("bottleneck widths must be multiples of the expansion")

    @property
    def min_samples(self) -> int:
        """The shortest input every downsampling still has a sample for."""
        return self.stem_stride * 2 * 2 ** (len(self.depths) - 1)  # stem, max-pool, stages

    @property
    def stages(self) -> int:
        return len(self.depths)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResNet1DConfig:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm1d(c_out),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _Shortcut(nn.Module):
    """Identity, or (as xresnet's 'ResNet-D') average-pool then 1x1 conv when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        pool = nn.AvgPool1d(stride, stride, ceil_mode=True) if stride > 1 else nn.Identity()
        proj = _conv_bn(c_in, c_out, 1, act=False) if c_in != c_out else nn.Identity()
        self.body = nn.Sequential(pool, proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class BasicBlock(nn.Module):
    """conv k (stride) -> BN -> ReLU -> conv k -> BN, + shortcut, ReLU."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(c_in, c_out, k, stride), _conv_bn(c_out, c_out, k, act=False)
        )
        self.shortcut = _Shortcut(c_in, c_out, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class BottleneckBlock(nn.Module):
    """conv 1 -> conv k (stride) -> conv 1 (x expansion), BN after each, + shortcut, ReLU."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = c_out // expansion
        self.body = nn.Sequential(
            _conv_bn(c_in, mid, 1),
            _conv_bn(mid, mid, k, stride),
            _conv_bn(mid, c_out, 1, act=False),
        )
        self.shortcut = _Shortcut(c_in, c_out, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNet1D(nn.Module):
    def __init__(self, cfg: ResNet1DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.stem = nn.Sequential(
            _conv_bn(cfg.in_channels, cfg.stem_width, cfg.stem_kernel, cfg.stem_stride),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages: list[nn.Module] = []
        c_in = cfg.stem_width
        for i, (depth, width) in enumerate(zip(cfg.depths, cfg.widths, strict=True)):
            blocks: list[nn.Module] = []
            for j in range(depth):
                stride = 2 if (i > 0 and j == 0) else 1
                if cfg.block == "basic":
                    blocks.append(BasicBlock(c_in, width, cfg.kernel_size, stride))
                else:
                    blocks.append(
                        BottleneckBlock(c_in, width, cfg.kernel_size, stride, cfg.expansion)
                    )
                c_in = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(cfg.widths[-1], cfg.num_classes)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Conv1d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 12, T] preprocessed ECG -> [B, num_classes] logits."""
        return self.head(self.head_drop(self.forward_features(x)))


# Named sizes bracketing ConvNeXt-1D atto (57 MFLOPs) to pico (839 MFLOPs) at 1x12x5000.
MODEL_SIZES: dict[str, ResNet1DConfig] = {
    "resnet1d_atto": ResNet1DConfig(depths=(1, 1, 1, 1), widths=(16, 32, 64, 96), stem_width=16),
    "resnet1d_femto": ResNet1DConfig(depths=(2, 2, 2, 2), widths=(32, 64, 128, 192)),
    "resnet1d_femto_bn": ResNet1DConfig(
        block="bottleneck", depths=(3, 4, 6, 3), widths=(64, 128, 256, 512)
    ),
    "resnet1d_pico": ResNet1DConfig(depths=(2, 2, 2, 2), widths=(32, 64, 128, 256), stem_stride=2),
}


def config_for(name: str, **overrides: Any) -> ResNet1DConfig:
    if name not in MODEL_SIZES:
        raise KeyError(f"unknown model size {name!r}; known: {', '.join(MODEL_SIZES)}")
    return ResNet1DConfig.from_dict({**MODEL_SIZES[name].to_dict(), **overrides})


def build_model(cfg: ResNet1DConfig | str, **overrides: Any) -> ResNet1D:
    if isinstance(cfg, str):
        cfg = config_for(cfg, **overrides)
    elif overrides:
        cfg = ResNet1DConfig.from_dict({**cfg.to_dict(), **overrides})
    return ResNet1D(cfg)
