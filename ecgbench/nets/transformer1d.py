"""An ECG transformer: patch embedding of the 12-lead signal and a pre-norm encoder.

The ViT recipe (Dosovitskiy et al., 2021) on a 1-D signal, shaped as the seed study's ``vit.py``: a
strided convolution cuts the [12, T] record into non-overlapping patches of ``patch`` samples (all
leads together) and embeds each; fixed sinusoidal positions are added (computed for the actual number
of patches, so training crops and 10 s evaluation records share them); pre-norm encoder blocks
(attention, then MLP, each with a residual); a classification token or mean pooling; a linear head.
Attention is written with plain MatMul/Softmax so exporters and NNCF's transformer patterns see it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
from torch import nn

__all__ = [
    "MODEL_SIZES",
    "EncoderBlock",
    "Transformer1D",
    "Transformer1DConfig",
    "build_model",
    "config_for",
]

POOLS = ("mean", "cls")


@dataclass(frozen=True)
class Transformer1DConfig:
    """Everything that defines the architecture; stored inside every checkpoint."""

    family: ClassVar[str] = "transformer1d"

    in_channels: int = 12
    num_classes: int = 26
    patch: int = 50  # samples per token: 0.1 s at 500 Hz
    dim: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 4
    pool: str = "mean"
    dropout: float = 0.0
    drop_path_rate: float = 0.1
    head_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {self.pool!r}")
        if min(self.patch, self.dim, self.depth, self.heads, self.mlp_ratio) < 1:
            raise ValueError("patch, dim, depth, heads and mlp_ratio must be >= 1")
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise ValueError("dim must split into heads of an even width")

    @property
    def min_samples(self) -> int:
        """The shortest input every downsampling still has a sample for."""
        return self.patch  # one token

    @property
    def stages(self) -> int:
        """One stage: every block works at the patch resolution (the sweep reports stages)."""
        return 1

    @property
    def depths(self) -> tuple[int, ...]:
        """Blocks per stage, as the other families report them."""
        return (self.depth,)

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.dim,)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transformer1DConfig:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**d)


def sinusoidal_positions(n: int, dim: int, like: torch.Tensor) -> torch.Tensor:
    """[1, n, dim] fixed positions of Vaswani et al. (2017), for any number of patches."""
    pos = torch.arange(n, dtype=like.dtype, device=like.device).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, dim, 2, dtype=like.dtype, device=like.device) * (-math.log(10000.0) / dim)
    )
    angles = pos * freq
    return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(1).unsqueeze(0)


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


class Attention(nn.Module):
    """Multi-head self-attention: one qkv Linear, scaled MatMul, Softmax, MatMul, projection."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = self.drop(torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1))
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class EncoderBlock(nn.Module):
    """x + DropPath(Attn(LN(x))), then x + DropPath(MLP(LN(x))): the pre-norm encoder layer."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int, dropout: float, drop_path: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_ratio * dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_ratio * dim, dim),
        )
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class Transformer1D(nn.Module):
    def __init__(self, cfg: Transformer1DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Conv1d(cfg.in_channels, cfg.dim, cfg.patch, stride=cfg.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim)) if cfg.pool == "cls" else None
        rates = torch.linspace(0, cfg.drop_path_rate, cfg.depth).tolist()
        self.blocks = nn.Sequential(
            *(EncoderBlock(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout, r) for r in rates)
        )
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)
        self.apply(self._init_weights)
        if self.cls_token is not None:
            nn.init.trunc_normal_(self.cls_token, std=0.02)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).transpose(1, 2)  # [B, N, dim]
        x = x + sinusoidal_positions(x.shape[1], self.cfg.dim, x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self.norm(self.blocks(x))
        return x[:, 0] if self.cls_token is not None else x.mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 12, T] preprocessed ECG -> [B, num_classes] logits."""
        return self.head(self.head_drop(self.forward_features(x)))


# Named sizes bracketing ConvNeXt-1D atto (57 MFLOPs) to pico (839 MFLOPs) at 1x12x5000.
MODEL_SIZES: dict[str, Transformer1DConfig] = {
    "transformer1d_atto": Transformer1DConfig(dim=64, depth=4, heads=2, mlp_ratio=3),
    "transformer1d_femto": Transformer1DConfig(dim=128, depth=6, heads=4),
    "transformer1d_tiny": Transformer1DConfig(dim=192, depth=6, heads=3, pool="cls"),
    "transformer1d_small": Transformer1DConfig(dim=256, depth=6, heads=4, pool="cls"),
}


def config_for(name: str, **overrides: Any) -> Transformer1DConfig:
    if name not in MODEL_SIZES:
        raise KeyError(f"unknown model size {name!r}; known: {', '.join(MODEL_SIZES)}")
    return Transformer1DConfig.from_dict({**MODEL_SIZES[name].to_dict(), **overrides})


def build_model(cfg: Transformer1DConfig | str, **overrides: Any) -> Transformer1D:
    if isinstance(cfg, str):
        cfg = config_for(cfg, **overrides)
    elif overrides:
        cfg = Transformer1DConfig.from_dict({**cfg.to_dict(), **overrides})
    return Transformer1D(cfg)
