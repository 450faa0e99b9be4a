"""The stream scenario: a live ECG fed window by window, at its rate, with its deadline."""
