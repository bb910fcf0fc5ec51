"""What both frameworks share, in NumPy only: the lecture's data, real data sets and files, initial weights, batch order."""
