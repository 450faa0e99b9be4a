"""The terminal tables of a run: latency, footprint, end-to-end and stream."""
