#!/usr/bin/python3
"""Derive the comparator network of the WebAssembly 5x5 median (tvl1_simd.wat).

The input of the network is a 5x5 window whose five columns are already
sorted (variable 5c + k holds the k-th smallest value of column c). Start from
Batcher's odd-even merge sort on 32 wires (wires 25..31 hold +inf and are
resolved statically), then greedily drop every comparator whose removal still
leaves the median (rank 12) on its variable for all 6^5 0-1 inputs with sorted
columns; by the 0-1 principle the network then selects the median of any
input with sorted columns. Prints the median variable, the comparator list
and the WAT text of the compare-exchanges.

    /usr/bin/python3 data/flow/gen_median_network.py
"""
import itertools
import random
import sys

import numpy as np

# Batcher odd-even merge sort comparators for n = 32
def oddeven_merge(lo, hi, r):
    step = r * 2
    if step < hi - lo:
        yield from oddeven_merge(lo, hi, step)
        yield from oddeven_merge(lo + r, hi, step)
        yield from [(i, i + r) for i in range(lo + r, hi - r, step)]
    else:
        yield (lo, lo + r)
def oddeven_merge_sort_range(lo, hi):
    if (hi - lo) >= 1:
        mid = lo + ((hi - lo) // 2)
        yield from oddeven_merge_sort_range(lo, mid)
        yield from oddeven_merge_sort_range(mid + 1, hi)
        yield from oddeven_merge(lo, hi, 1)
net32 = list(oddeven_merge_sort_range(0, 31))
# wires 25..31 hold +inf: resolve statically with relabelling
N = 25
pos = list(range(32))   # pos[w] = variable currently on wire w (var >= 25 means inf)
net = []
for (i, j) in net32:
    a, b = pos[i], pos[j]
    ainf, binf = a >= N, b >= N
    if binf:       # min(x, inf) = x stays at i, inf at j: no-op
        continue
    if ainf:       # finite moves down to i, inf to j
        pos[i], pos[j] = b, a
        continue
    net.append((a, b))  # compare variables a,b: a gets min, b gets max
# which variable holds rank 12 at the end
out = pos[12]
print("full comparators", len(net), "median var", out, file=sys.stderr)
# inputs: 5 sorted columns, variable 5c+k = k-th smallest of column c
# all 0-1 inputs with sorted columns: column c has z zeros then ones
cols = list(itertools.product(range(6), repeat=5))
X = np.zeros((len(cols), N), dtype=np.uint8)
for r, zs in enumerate(cols):
    for c, z in enumerate(zs):
        for k in range(5):
            X[r, 5*c+k] = 0 if k < z else 1
want = np.sort(X, axis=1)[:, 12]
def run(net, out):
    V = X.copy()
    for a, b in net:
        lo = np.minimum(V[:, a], V[:, b]); hi = np.maximum(V[:, a], V[:, b])
        V[:, a] = lo; V[:, b] = hi
    return V[:, out]
assert (run(net, out) == want).all()
# greedy removal, several random orders, keep the best
best = net
rng = random.Random(1)
for trial in range(12):
    cur = list(best)
    order = list(range(len(cur)))[::-1] if trial == 0 else rng.sample(range(len(cur)), len(cur))
    removed = set()
    for idx in order:
        cand = [c for k, c in enumerate(cur) if k not in removed and k != idx]
        if (run(cand, out) == want).all():
            removed.add(idx)
    cur = [c for k, c in enumerate(cur) if k not in removed]
    if len(cur) < len(best):
        best = cur
    print("trial", trial, len(cur), file=sys.stderr)
print(out)
print(best)
print(f"{len(best)} comparators", file=sys.stderr)
for a, b in best:
    print(f"    (local.set $t (f32x4.pmin (local.get $v{a}) (local.get $v{b})))"
          f" (local.set $v{b} (f32x4.pmax (local.get $v{a}) (local.get $v{b})))"
          f" (local.set $v{a} (local.get $t))")
