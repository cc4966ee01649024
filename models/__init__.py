"""Plain-data descriptions of a network and its training, and the code that runs them.

Nothing in this package imports Qt. TensorFlow is imported only inside the
functions that need it, so that describing and validating a project is fast.
"""
