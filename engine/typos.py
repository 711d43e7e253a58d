"""Word matches that forgive typos, for the fuzzy search (engine.search) to blend in.

A misspelt query ("godfahter", "shawshenk redemtion") is not a subsequence of the label it
means, so fzf-style matching finds nothing useful for it. Here every label is split into words
(runs of letters and digits, lower-cased and accent-folded as the fuzzy index folds them), and
a query word matches a label word within an optimal-string-alignment distance (Levenshtein's
insertions, deletions and substitutions plus the swap of two adjacent characters, each costing
1; no substring is edited twice) of

    0 for query words of 1–2 characters, 1 for 3–5, 2 for 6 or more,

to the whole label word or, for the query's last word while it is still being typed (the query
does not end in a space), to a prefix of it. The match's similarity is 1 - d / len(query word),
times 0.9 for a prefix match so that the whole word wins a tie. A label's typo score is the sum
over query words of the best similarity any of its words gives; labels rank by how many query
words they match, then by that sum, then as fzf breaks ties (shorter label, lower index).

Layout: the vocabulary of distinct words, sorted by length (a length window is one range), as
keys into the fuzzy index's folded alphabet, each with a 64-bit set of its characters; per word
a posting list of the label slots holding it. A query word is compared with the words of the
right lengths whose character sets could be within the distance, by a row-at-a-time dynamic
programme that stops once a whole row exceeds the distance.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["WordIndex", "max_edits", "PREFIX_WEIGHT"]

PREFIX_WEIGHT = 0.9


def max_edits(length: int) -> int:
    """The edits a query word of `length` characters may be away from a label word."""
    return 0 if length <= 2 else 1 if length <= 5 else 2


# ---- building -----------------------------------------------------------------------------

@njit(cache=True)
def _count_words(codes, offsets, isword):
    total = 0
    for i in range(offsets.shape[0] - 1):
        inside = False
        for p in range(offsets[i], offsets[i + 1]):
            w = isword[codes[p]]
            if w and not inside:
                total += 1
            inside = w
    return total


@njit(cache=True)
def _fill_words(codes, offsets, isword, fkey, slot_of, start, length, hashes):
    """Every word's label slot, buffer start, length and a 64-bit FNV-1a hash of its keys."""
    k = -1
    for i in range(offsets.shape[0] - 1):
        inside = False
        h = np.uint64(0)
        for p in range(offsets[i], offsets[i + 1]):
            w = isword[codes[p]]
            if w:
                if not inside:
                    k += 1
                    slot_of[k] = i
                    start[k] = p
                    length[k] = 0
                    h = np.uint64(14695981039346656037)
                h = (h ^ np.uint64(fkey[codes[p]] + 1)) * np.uint64(1099511628211)
                length[k] += 1
                hashes[k] = h ^ np.uint64(length[k])
            inside = w


@njit(cache=True)
def _gather_keys(codes, fkey, start, length, voff, vkeys, key_bit, vmask):
    for v in range(start.shape[0]):
        m = np.uint64(0)
        for j in range(length[v]):
            key = fkey[codes[start[v] + j]]
            vkeys[voff[v] + j] = key
            m |= key_bit[key]
        vmask[v] = m


@njit(cache=True)
def _postings(word_of, slot_of, starts, post):
    """Fill each word's posting list, from starts[v], in occurrence (slot) order; a word twice
    in one label is posted once. Returns the lists' ends."""
    ends = starts.copy()
    for t in range(word_of.shape[0]):
        v = word_of[t]
        if ends[v] > starts[v] and post[ends[v] - 1] == slot_of[t]:
            continue
        post[ends[v]] = slot_of[t]
        ends[v] += 1
    return ends


@njit(cache=True)
def _close_gaps(post, starts, ends, out, off):
    w = 0
    for v in range(starts.shape[0]):
        off[v] = w
        for p in range(starts[v], ends[v]):
            out[w] = post[p]
            w += 1
    off[starts.shape[0]] = w


# ---- matching -----------------------------------------------------------------------------

@njit(cache=True)
def _bits(x, stop):
    """Set bits of x, counted up to `stop`."""
    c = 0
    while x and c < stop:
        x &= x - np.uint64(1)
        c += 1
    return c


@njit(cache=True)
def _osa(q, w, a, m, k, prefix, prev2, prev, cur):
    """The optimal-string-alignment distance of q to w[a:a+m] (prefix: to its nearest prefix),
    or k + 1 when it is more than k. prev2, prev and cur are scratch rows of len(q) + 1."""
    L = q.shape[0]
    for i in range(L + 1):
        prev[i] = i
    best = L if prefix else k + 1  # the empty prefix
    if prefix and best > k:
        best = k + 1
    for j in range(1, m + 1):
        c = w[a + j - 1]
        cur[0] = j
        low = j
        for i in range(1, L + 1):
            cost = 0 if q[i - 1] == c else 1
            d = prev[i - 1] + cost
            if prev[i] + 1 < d:
                d = prev[i] + 1
            if cur[i - 1] + 1 < d:
                d = cur[i - 1] + 1
            if i > 1 and j > 1 and q[i - 1] == w[a + j - 2] and q[i - 2] == c:
                if prev2[i - 2] + 1 < d:
                    d = prev2[i - 2] + 1
            cur[i] = d
            if d < low:
                low = d
        if prefix and cur[L] < best:
            best = cur[L]
        if low > k:  # every longer prefix is further still
            return best if prefix else k + 1
        for i in range(L + 1):
            prev2[i] = prev[i]
            prev[i] = cur[i]
    if prefix:
        return best
    return prev[L] if prev[L] <= k else k + 1


@njit(cache=True, parallel=True)
def _near(vkeys, voff, vmask, lo, hi, q, qbits, k, prefix, out, whole):
    """out[v - lo] = distance of q to vocabulary word v, or with `prefix` to its nearest
    prefix, and then whole[v - lo] to the whole word (k + 1: further than k)."""
    L = q.shape[0]
    nchunk = 64
    span = hi - lo
    for ch in prange(nchunk):
        a = lo + ch * span // nchunk
        b = lo + (ch + 1) * span // nchunk
        prev2 = np.empty(L + 1, np.int64)
        prev = np.empty(L + 1, np.int64)
        cur = np.empty(L + 1, np.int64)
        for v in range(a, b):
            out[v - lo] = k + 1
            whole[v - lo] = k + 1
            # Each edit takes at most one of the query's characters out of the word.
            if _bits(qbits & ~vmask[v], k + 1) > k:
                continue
            m = voff[v + 1] - voff[v]
            if not prefix:
                out[v - lo] = _osa(q, vkeys, voff[v], m, k, False, prev2, prev, cur)
                continue
            d = _osa(q, vkeys, voff[v], min(m, L + k), k, True, prev2, prev, cur)
            out[v - lo] = d
            if d <= k and abs(m - L) <= k:
                whole[v - lo] = _osa(q, vkeys, voff[v], m, k, False, prev2, prev, cur)


@njit(cache=True)
def _best_per_label(post_off, post, words, sims, best):
    for t in range(words.shape[0]):
        v = words[t]
        s = sims[t]
        for p in range(post_off[v], post_off[v + 1]):
            if best[post[p]] < s:
                best[post[p]] = s


# ---- the index ----------------------------------------------------------------------------

class WordIndex:
    """The words of labels held by a fuzzy index, with postings; see the module docstring.

    `codes`/`offsets` are the fuzzy index's labels in slot order; `isword[a]` says whether
    alphabet code a is a letter or digit, `fkey[a]` is its folded key, and `key_bit[key]` its
    bit in the 64-bit character sets."""

    def __init__(self, codes, offsets, isword, fkey, key_bit) -> None:
        n = len(offsets) - 1
        self.n = n
        self._key_bit = key_bit
        total = _count_words(codes, offsets, isword)
        slot_of = np.empty(total, np.int32)
        start = np.empty(total, np.int64)
        length = np.empty(total, np.int32)
        hashes = np.empty(total, np.uint64)
        _fill_words(codes, offsets, isword, fkey, slot_of, start, length, hashes)
        # Distinct words by hash: a sort of the hashes and a binary search each, cheaper than
        # an argsort of the occurrences.
        sorted_h = np.sort(hashes)
        uniq = sorted_h[np.r_[True, sorted_h[1:] != sorted_h[:-1]]] if total else sorted_h
        del sorted_h
        word_of = np.searchsorted(uniq, hashes).astype(np.int32)
        del hashes
        first = np.empty(len(uniq), np.int64)
        first[word_of] = np.arange(total)  # any occurrence stands for its word
        # Vocabulary ordered by length, so that a window of lengths is one range.
        order = np.argsort(length[first], kind="stable")
        rank = np.empty(len(order), np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        word_of = rank[word_of]
        first = first[order]
        vlen = length[first].astype(np.int64)
        self._voff = np.zeros(len(first) + 1, np.int64)
        np.cumsum(vlen, out=self._voff[1:])
        self._vkeys = np.empty(int(self._voff[-1]), np.int32)
        self._vmask = np.empty(len(first), np.uint64)
        _gather_keys(codes, fkey, start[first], length[first], self._voff, self._vkeys,
                     key_bit, self._vmask)
        self._by_length = np.searchsorted(vlen, np.arange(int(vlen.max(initial=0)) + 2))
        del start, length
        # Postings by a counting sort: occurrences come in slot order, so lists are ascending.
        off = np.zeros(len(first) + 1, np.int64)
        np.cumsum(np.bincount(word_of, minlength=len(first)), out=off[1:])
        post = np.empty(total, np.int32)
        ends = _postings(word_of, slot_of, off[:-1], post)
        del word_of, slot_of
        kept = int((ends - off[:-1]).sum())
        if kept == total:
            self._post, self._post_off = post, off
        else:
            self._post = np.empty(kept, np.int32)
            self._post_off = np.empty(len(first) + 1, np.int64)
            _close_gaps(post, off[:-1], ends, self._post, self._post_off)

    @property
    def words(self) -> int:
        return len(self._vmask)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self._voff, self._vkeys, self._vmask, self._by_length,
                                      self._post, self._post_off))

    def word(self, v: int) -> np.ndarray:
        return self._vkeys[self._voff[v]:self._voff[v + 1]]

    def near(self, q: np.ndarray, prefix: bool) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary words within max_edits of the query word q (folded keys) and their
        similarities (see the module docstring)."""
        L = len(q)
        k = max_edits(L)
        top = len(self._by_length) - 1
        lo = self._by_length[min(max(L - k, 0), top)]
        hi = len(self._vmask) if prefix else self._by_length[min(L + k + 1, top)]
        if hi <= lo or L == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        qbits = np.uint64(0)
        for key in q.tolist():
            if key >= 0:
                qbits |= self._key_bit[key]
        dist = np.empty(hi - lo, np.int64)
        whole = np.empty(hi - lo, np.int64)
        _near(self._vkeys, self._voff, self._vmask, lo, hi, q.astype(np.int32), qbits, k,
              prefix, dist, whole)
        hit = np.flatnonzero(dist <= k)
        sim = 1.0 - dist[hit] / L
        if prefix:  # a prefix match counts as whole where the whole word is as near
            sim = np.where(whole[hit] <= dist[hit], sim, sim * PREFIX_WEIGHT)
        return (lo + hit).astype(np.int32), sim.astype(np.float32)

    def scores(self, words: list[np.ndarray], last_is_prefix: bool
               ) -> tuple[np.ndarray, np.ndarray]:
        """Per label slot: how many query words match one of its words (int32), and the sum
        of their best similarities (float32)."""
        covered = np.zeros(self.n, np.int32)
        total = np.zeros(self.n, np.float32)
        best = np.empty(self.n, np.float32)
        for t, q in enumerate(words):
            v, sim = self.near(q, last_is_prefix and t == len(words) - 1)
            if not len(v):
                continue
            best.fill(0)
            _best_per_label(self._post_off, self._post, v, sim, best)
            covered += best > 0
            total += best
        return covered, total

    def search(self, words: list[np.ndarray], last_is_prefix: bool, limit: int | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Label slots that match a query word: the best `limit` by (words matched, summed
        similarity) and every slot tied with the last of them, unordered, each with its
        rank value (words matched · (W + 1) + sum) and its share (sum / W, 1.0: every word as
        typed), W being the number of query words."""
        none = np.zeros(0, np.int32), np.zeros(0, np.float64), np.zeros(0, np.float64)
        if not words or self.n == 0:
            return none
        covered, total = self.scores(words, last_is_prefix)
        cand = np.flatnonzero(covered > 0).astype(np.int32)
        if not len(cand):
            return none
        W = len(words)
        rank = covered[cand].astype(np.float64) * (W + 1) + total[cand]
        if limit is not None and len(cand) > limit:
            cut = np.partition(rank, len(rank) - limit)[len(rank) - limit]
            keep = rank >= cut
            cand, rank = cand[keep], rank[keep]
        return cand, rank, total[cand].astype(np.float64) / W

    def matched_words(self, label_keys: np.ndarray, isword_of: np.ndarray,
                      words: list[np.ndarray], last_is_prefix: bool) -> list[tuple[int, int]]:
        """Spans (start, end) of one label's words that match a query word; label_keys are its
        characters' folded keys and isword_of whether each is a letter or digit."""
        spans, p, n = [], 0, len(label_keys)
        bounds = []
        while p < n:
            if isword_of[p]:
                e = p
                while e < n and isword_of[e]:
                    e += 1
                bounds.append((p, e))
                p = e
            else:
                p += 1
        keys = label_keys.astype(np.int32)
        for t, q in enumerate(words):
            prefix = last_is_prefix and t == len(words) - 1
            k = max_edits(len(q))
            q32 = q.astype(np.int32)
            scratch = [np.empty(len(q) + 1, np.int64) for _ in range(3)]
            for a, e in bounds:
                m = e - a
                if not prefix and abs(m - len(q)) > k:
                    continue
                d = _osa(q32, keys, a, min(m, len(q) + k) if prefix else m, k, prefix,
                         *scratch)
                if d <= k:
                    spans.append((a, e))
        return spans

