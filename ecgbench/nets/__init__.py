from ecgbench.nets.convnext1d import MODEL_SIZES, ConvNeXt1D, ConvNeXt1DConfig, build_model

__all__ = ["MODEL_SIZES", "ConvNeXt1D", "ConvNeXt1DConfig", "build_model"]
