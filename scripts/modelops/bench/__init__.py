"""`make bench`: the promotion gate's decisions vs the same decisions made the obvious way.

`python -m modelops.bench` generates synthetic data once, then runs each side in its own
child process (so peak memory is per side) and prints times, memory and agreement.
"""
