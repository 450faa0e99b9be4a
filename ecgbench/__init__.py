"""ecgbench: which ECG model, on which device, at which precision, is fast and still accurate?"""

__version__ = "0.1.0"
