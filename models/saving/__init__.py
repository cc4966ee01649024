"""What leaves the program: exports in every format, the training and prediction scripts, preprocessing.json and predict."""
