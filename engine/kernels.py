"""Numba primitives shared by the graph kernels: a best-k list, union-find, a seeded random
stream and a weighted vote with random tie-break.

Written once here so every caller ranks, links and breaks ties the same way. All are
inlined into their callers' compiled loops.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def push(top_i, top_v, fill, k, j, v):
    """Insert (j, v) into a best-k list of `fill` entries: value descending, ties by smaller
    index. Returns the new fill. A NaN v is never inserted."""
    if not v == v:
        return fill
    if fill == k:
        last_v, last_i = top_v[k - 1], top_i[k - 1]
        if v < last_v or (v == last_v and j > last_i):
            return fill
        pos = k - 1
    else:
        pos = fill
        fill += 1
    while pos > 0 and (top_v[pos - 1] < v or (top_v[pos - 1] == v and top_i[pos - 1] > j)):
        top_v[pos] = top_v[pos - 1]
        top_i[pos] = top_i[pos - 1]
        pos -= 1
    top_v[pos] = v
    top_i[pos] = j
    return fill


@njit(cache=True, inline="always")
def find(parent, x):
    """Root of x in a union-find forest, halving the path on the way."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, inline="always")
def next_random(state):
    """splitmix64 step: (new state, 53-bit uniform in [0, 1))."""
    state = state + np.uint64(0x9E3779B97F4A7C15)  # wraps modulo 2**64
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return state, np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def heaviest(acc, touched, cnt, state):
    """The label among touched[:cnt] with the largest acc, each tied label chosen with equal
    probability (reservoir sampling) → (label, its weight, new random state)."""
    best = -1
    top = -1.0
    ties = 0
    for q in range(cnt):
        lab = touched[q]
        x = acc[lab]
        if x > top:
            best, top, ties = lab, x, 1
        elif x == top:
            ties += 1  # each tied label kept with probability 1/ties
            state, r = next_random(state)
            if r * ties < 1.0:
                best = lab
    return best, top, state


@njit(cache=True, inline="always")
def tally(acc, touched, cnt, lab, w):
    """Add weight w to label lab's vote; touched[:cnt] lists the labels voted for, so acc is
    cleared afterwards in O(cnt). Returns the new cnt. w must be > 0."""
    if acc[lab] == 0.0:
        touched[cnt] = lab
        cnt += 1
    acc[lab] += w
    return cnt
