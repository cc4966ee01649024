"""Named data sets, each giving train and test arrays, as plain numpy data.

Nothing in this package imports Qt or TensorFlow at import time.
"""
