"""Measurements beside the timing: footprint, per-layer profile, benchmark_app, end-to-end."""
