"""scikit-learn, imported by one thread at a time.

The window imports scikit-learn's metrics in the background while TensorFlow
loads, and its data loader imports scikit-learn's splitting at the same time
in another thread. Two threads importing the same package at once can see it
half made: a start-up failed with "cannot import name 'clone' from partially
initialized module 'sklearn.base'". Every module that uses scikit-learn
imports it from here, under one lock.
"""

from __future__ import annotations

import threading

_IMPORT_LOCK = threading.Lock()

with _IMPORT_LOCK:
    from sklearn import datasets, metrics, model_selection  # noqa: F401 (re-exported)
