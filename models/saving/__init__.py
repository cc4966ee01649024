"""What leaves the program: exports in every format, the training and prediction scripts, preprocessing.json,
predict, and a run's report to hand out."""
