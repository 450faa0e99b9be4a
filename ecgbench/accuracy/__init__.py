"""Accuracy of exact variants (model × backend × precision) as they execute on this machine."""
