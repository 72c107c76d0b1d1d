"""Period rules, metric functions and calendar-aligned sums: pure functions over pandas objects.

Nothing here reads a file or the network; the snapshot's loaders hand these functions their frames.
"""
