"""Everything both frameworks share, in NumPy only: the lecture's data, initial weights, batch order."""
