"""Bad runner files shared by the suite's tests and the ``ecgbench run --suite`` tests."""

from __future__ import annotations

# case -> (file text, words its one-line error must contain)
BAD_SUITES = {
    "syntax": ('backends = ["openvino"\nduration = 1\n', "not valid TOML"),
    "unknown_key": ('backend = ["openvino"]\n', "unknown keys backend"),
    "unknown_backend": ('backends = ["tensorrt"]\n', "unknown backend 'tensorrt'"),
    "batch_zero": ("batch = [0]\n", "batch"),
    "batch_word": ('batch = ["big"]\n', "bad value"),
    "negative_duration": ("duration = -1.0\n", "duration"),
    "unknown_precision": ('precisions = ["int4"]\n', "unknown precision 'int4'"),
    "unknown_scenario": ('scenario = "offline"\n', "unknown scenario"),
    "no_backend_for_precision": ('backends = ["torch"]\nprecisions = ["int8"]\n', "torch: fp32"),
    "models_table": ("[models]\na = 1\n", "must be a list or a string"),
    "threads_negative": ("threads = -2\n", "threads"),
    "samples_negative": ("samples = -5\n", "samples"),
    "samples_by_variant_list": ("samples_by_variant = [1]\n", "bad value"),
    "samples_by_variant_word": ('[samples_by_variant]\n"m/openvino/fp32" = "long"\n', "bad value"),
    "samples_by_variant_zero": ('[samples_by_variant]\n"m/openvino/fp32" = 0\n', ">= 1"),
    "static_shape_word": ('static_shape = "no"\n', "static_shape"),
    "int8_rest_unknown": ('int8_rest = "int4"\n', "unknown int8_rest 'int4'"),
    "min_samples_for_word": ('min_samples_for = "high"\n', "min_samples_for: 'high'"),
    "min_samples_for_number": ("min_samples_for = 99\n", "not a percentile"),
    "samples_list_zero": ("samples = [1250, 0]\n", ">= 1"),
    "samples_fraction": ("samples = 2500.5\n", "not a whole number"),
    "samples_list_twice": ("samples = [1250, 1250]\n", "given twice"),
    "samples_by_variant_unknown": (
        'models = ["atto"]\n[samples_by_variant]\n"atto/onnxruntime/fp32" = 2500\n',
        "names no variant of this suite",
    ),
    "samples_list_and_by_variant": (
        'samples = [1250, 2500]\n[samples_by_variant]\n"m/openvino/fp32" = 2500\n',
        "cannot be combined",
    ),
}
