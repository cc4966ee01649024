"""Training a project: the runner shared by the window and the command line, K-fold, run folders, devices and speed."""
