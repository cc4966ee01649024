"""What a network and its training settings are (plain data), and the one function that builds a Keras model from them."""
