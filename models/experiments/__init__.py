"""Experiments: the history of every run, comparing runs, one-setting sweeps."""
