"""Fuzzy search over entity labels, ranked the way fzf ranks.

    index = FuzzyIndex(labels)                 # once; ~1 s at 1M labels
    idx, score = index.search("lord rings")    # int32 indices, float64 scores, best first
    index.positions(idx[0], "lord rings")      # [4, 5, 6, 7, 16, 17, 18, 19, 20] for highlighting

Matching: the query is split on whitespace into terms; every term must occur in the label as a
case-insensitive subsequence, anywhere and in any order ("rings lord" finds the same films as
"lord rings"). Unaccented query letters also match their accented forms ("amelie" finds
"Amélie"); an accented query letter matches only itself ("é" does not match "e"). Control and
zero-width characters in the query are ignored.

Scoring is fzf's (FuzzyMatchV2, default scheme) per term, summed over the terms as fzf's
extended search does: 16 per matched character; bonuses for the start of the label (10), a word
start after whitespace (10), after / , : ; | (9) or other punctuation (8), a camelCase or
letter-to-digit step (7), the first query character counting double, runs of consecutive
matches keeping the bonus of their first character (at least 4 each); gaps cost 3 to open and 1
per further character. Ties go to the label shorter after trimming whitespace, then to the
lower index. Scores are integers returned as floats.

Typos: search() also forgives them. When a query does not match as typed (fzf's best match
leaves out a letter inside a term: "godfahter", "shawshenk"), labels whose words are within a
few edits of the query's words (engine.typos) come first; see search_typos. `matches` and
`score` are fzf's alone.

Typing is cheap: the index remembers the matches of its last few queries, and a query that
can only match a subset of an earlier one's matches (each earlier term is contained, in order,
in some new term: "st" → "sta" → "star w"; also backspacing to an earlier query) scans only
those. This is automatic and thread-safe; nothing to pass.

Layout (memory-conscious: about 2 bytes per label character plus 20 bytes per label): every
label's characters, as codes into the alphabet of distinct characters (uint8 when at most 256
distinct characters, else uint16/uint32), concatenated into one buffer with int64 offsets;
small per-code tables give the lower-cased key, the accent-folded key and the fzf character
class (for word-start bonuses, which need the original case). Per label: a 64-bit set of the
folded characters it contains, for a one-instruction rejection of most labels, and its trimmed
length. Positions are indices into the original Python string (code points), so they stay
right with emoji, right-to-left text, zero-width and control characters.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from engine.errors import InputError
from engine.typos import WordIndex

__all__ = ["FuzzyIndex", "match_positions"]

# fzf's scoring constants (src/algo/algo.go, scheme "default").
SCORE_MATCH = 16
GAP_START = -3
GAP_EXTENSION = -1
BONUS_BOUNDARY = SCORE_MATCH // 2
BONUS_NONWORD = SCORE_MATCH // 2
BONUS_CAMEL123 = BONUS_BOUNDARY + GAP_EXTENSION
BONUS_CONSECUTIVE = -(GAP_START + GAP_EXTENSION)
FIRST_CHAR_MULTIPLIER = 2
BONUS_BOUNDARY_WHITE = BONUS_BOUNDARY + 2
BONUS_BOUNDARY_DELIMITER = BONUS_BOUNDARY + 1

WHITE, NONWORD, DELIMITER, LOWER, UPPER, LETTER, NUMBER = range(7)
_DELIMITERS = "/,:;|"
_WHITES = " \t\n\v\f\r\x85\xa0"

# Letters without a decomposition that still read as an ASCII letter.
_EXTRA_FOLDS = {"ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "ı": "i", "ŧ": "t",
                "ƀ": "b", "ƒ": "f", "ŀ": "l"}

STRONG = 0.5  # an fzf-style match scoring below this share of its best may be a typo
_CHUNK = 1 << 16  # labels encoded per step: bounds the temporary UTF-32 copy
_REMEMBERED = 16  # earlier queries whose matches narrow later ones


def _bonus_for(prev: int, cls: int) -> int:
    if cls > NONWORD:
        if prev == WHITE:
            return BONUS_BOUNDARY_WHITE
        if prev == DELIMITER:
            return BONUS_BOUNDARY_DELIMITER
        if prev == NONWORD:
            return BONUS_BOUNDARY
    if (prev == LOWER and cls == UPPER) or (prev != NUMBER and cls == NUMBER):
        return BONUS_CAMEL123
    if cls in (NONWORD, DELIMITER):
        return BONUS_NONWORD
    if cls == WHITE:
        return BONUS_BOUNDARY_WHITE
    return 0


# Flat 7×7 table, a compile-time constant inside the kernels.
_BONUS = np.array([_bonus_for(p, c) for p in range(7) for c in range(7)], np.int32)


# ---- characters ---------------------------------------------------------------------------

def _char_class(ch: str) -> int:
    if ch < "\x80":
        if "a" <= ch <= "z":
            return LOWER
        if "A" <= ch <= "Z":
            return UPPER
        if "0" <= ch <= "9":
            return NUMBER
        if ch in _WHITES:
            return WHITE
        return DELIMITER if ch in _DELIMITERS else NONWORD
    cat = unicodedata.category(ch)
    if cat == "Ll":
        return LOWER
    if cat == "Lu":
        return UPPER
    if cat[0] == "N":
        return NUMBER
    if cat[0] == "L":
        return LETTER
    if ch.isspace() or ch in _WHITES:
        return WHITE
    return NONWORD


def _lower1(ch: str) -> str:
    """Lower case, one character to one (so positions never shift)."""
    low = ch.lower()
    return low if len(low) == 1 else ch


def _fold1(ch: str) -> str:
    """An accented Latin letter's ASCII base letter; any other character unchanged."""
    if ch < "\x80":
        return ch
    extra = _EXTRA_FOLDS.get(ch)
    if extra is not None:
        return extra
    d = unicodedata.normalize("NFD", ch)
    if len(d) > 1 and d[0] < "\x80" and all(unicodedata.combining(c) for c in d[1:]):
        return d[0].lower()  # "İ" lower-cases to two characters, so _lower1 leaves it upper
    return ch


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return ""
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _sequence(labels):
    """labels as something sliceable twice: a numpy or pyarrow array, else a list."""
    if isinstance(labels, str):
        raise InputError("labels must be a sequence of strings, not one string")
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1:
            raise InputError(f"labels must be one-dimensional, got shape {labels.shape}")
        return labels
    if hasattr(labels, "to_pylist"):  # pyarrow arrays
        return labels
    try:
        return list(labels)
    except TypeError:
        raise InputError("labels must be a sequence of strings") from None


def _text_chunks(labels):
    """The labels (from _sequence) as lists of str, _CHUNK at a time: a million labels never
    all become Python strings at once (an array of them costs ~70 bytes a label)."""
    for a in range(0, len(labels), _CHUNK):
        part = labels[a:a + _CHUNK]
        if hasattr(part, "to_pylist"):
            part = part.to_pylist()
        elif isinstance(part, np.ndarray):
            part = part.tolist()
        try:
            yield [x if type(x) is str else _as_text(x) for x in part]
        except TypeError:
            raise InputError("labels must be a sequence of strings") from None


# ---- kernels ------------------------------------------------------------------------------

@njit(cache=True)
def _mark(cp, seen):
    for k in range(cp.shape[0]):
        seen[cp[k]] = True


@njit(cache=True)
def _count(codes, counts):
    for k in range(codes.shape[0]):
        counts[codes[k]] += 1


@njit(cache=True)
def _encode(cp, table, out, start):
    for k in range(cp.shape[0]):
        out[start + k] = table[cp[k]]


@njit(cache=True, parallel=True)
def _label_stats(codes, offsets, fold_bit, cls, masks, tlen):
    """Per label: the set of folded characters it holds, and its length without outer spaces."""
    n = offsets.shape[0] - 1
    for i in prange(n):
        s, e = offsets[i], offsets[i + 1]
        m = np.uint64(0)
        for p in range(s, e):
            m |= fold_bit[codes[p]]
        masks[i] = m
        a, b = s, e
        while a < b and cls[codes[a]] == WHITE:
            a += 1
        while b > a and cls[codes[b - 1]] == WHITE:
            b -= 1
        tlen[i] = b - a


@njit(cache=True, parallel=True)
def _permute(codes, offsets, order, new_offsets, out):
    for k in prange(order.shape[0]):
        s, e = offsets[order[k]], offsets[order[k] + 1]
        d = new_offsets[k]
        for p in range(e - s):
            out[d + p] = codes[s + p]


@njit(cache=True)
def _bonus_at(codes, cls, s, p):
    prev = WHITE if p == s else cls[codes[p - 1]]
    return _BONUS[prev * 7 + cls[codes[p]]]


@njit(cache=True)
def _score1(codes, s, e, tab, cls, sel, key):
    """A one-character term: (score, position), or (-1, -1) when the character is absent.

    As fzf: the best bonus wins, and the first word start ends the search."""
    best, best_col = -1, -1
    for col in range(s, e):
        if tab[sel, codes[col]] == key:
            bonus = _bonus_at(codes, cls, s, col)
            score = SCORE_MATCH + bonus * FIRST_CHAR_MULTIPLIER
            if score > best:
                best, best_col = score, col
                if bonus >= BONUS_BOUNDARY:
                    break
    return best, best_col


@njit(cache=True)
def _greedy(codes, s, e, tab, qkey, qsel, a, b, F):
    """First in-order occurrences of query characters a..b-1 into F[a:b]; returns the last
    occurrence of the term's last character, or -1 when the term is not a subsequence."""
    k = a
    p = s
    while p < e and k < b:
        if tab[qsel[k], codes[p]] == qkey[k]:
            F[k] = p
            k += 1
        p += 1
    if k < b:
        return -1
    last = e - 1
    sel, key = qsel[b - 1], qkey[b - 1]
    while tab[sel, codes[last]] != key:
        last -= 1
    return last


@njit(cache=True)
def _term_dp(codes, s, tab, cls, qkey, qsel, a, b, F, last, H, C, full):
    """fzf's FuzzyMatchV2 for the term a..b-1 (two characters or more), after _greedy.

    Returns (score, column of the term's last character). Row r of the score matrix H and
    the run-length matrix C live in row r (full=True, for the backtrace) or r % 2 (rolling).
    """
    M = b - a
    f0 = F[a]
    sel0, key0 = qsel[a], qkey[a]
    prev_h = 0
    in_gap = False
    for col in range(f0, last + 1):
        j = col - f0
        if tab[sel0, codes[col]] == key0:
            H[0, j] = SCORE_MATCH + _bonus_at(codes, cls, s, col) * FIRST_CHAR_MULTIPLIER
            C[0, j] = 1
            in_gap = False
        else:
            H[0, j] = max(prev_h + (GAP_EXTENSION if in_gap else GAP_START), 0)
            C[0, j] = 0
            in_gap = True
        prev_h = H[0, j]

    best, best_col = 0, last
    for r in range(1, M):
        k = a + r
        cur = r if full else r & 1
        prv = r - 1 if full else 1 - cur
        sel, key = qsel[k], qkey[k]
        in_gap = False
        h_left = 0
        for col in range(F[k], last + 1):
            j = col - f0
            s2 = h_left + (GAP_EXTENSION if in_gap else GAP_START)
            s1 = 0
            run = 0
            if tab[sel, codes[col]] == key:
                bonus = _bonus_at(codes, cls, s, col)
                bb = bonus
                s1 = H[prv, j - 1] + SCORE_MATCH
                run = C[prv, j - 1] + 1
                if run > 1:
                    first = _bonus_at(codes, cls, s, col - run + 1)
                    if bonus >= BONUS_BOUNDARY and bonus > first:
                        run = 1  # a word start inside a run starts a new run
                    else:
                        bb = max(bonus, max(BONUS_CONSECUTIVE, first))
                if s1 + bb < s2:
                    s1 += bonus
                    run = 0
                else:
                    s1 += bb
            C[cur, j] = run
            in_gap = s1 < s2
            score = max(max(s1, s2), 0)
            H[cur, j] = score
            h_left = score
            if r == M - 1 and score > best:
                best, best_col = score, col
    return best, best_col


@njit(cache=True, parallel=True)
def _search_kernel(codes, offsets, masks, cand, base, use_all, tab, cls, qkey, qsel, tstart,
                   qmask, out):
    """out[k] = summed score of label cand[k] (base + k when use_all), -1 when a term misses.

    Terms come longest first, so every multi-character term is checked (cheap greedy pass)
    before any is scored, and one-character terms are scored in their only pass."""
    K = out.shape[0]
    nterm = tstart.shape[0] - 1
    nchunk = 256
    for ch in prange(nchunk):
        # Slots run shortest label first, and prange hands each thread one contiguous range
        # of chunks: scatter the chunks (97 is odd, so this permutes 0..255) to balance them.
        c = ch * 97 % nchunk
        lo = c * K // nchunk
        hi = (c + 1) * K // nchunk
        F = np.empty(qkey.shape[0], np.int64)
        L = np.empty(nterm, np.int64)
        cap = 64
        H = np.empty((2, cap), np.int32)
        C = np.empty((2, cap), np.int32)
        for k in range(lo, hi):
            i = base + k if use_all else cand[k]
            out[k] = -1
            if masks[i] & qmask != qmask:
                continue
            s, e = offsets[i], offsets[i + 1]
            total = 0
            for t in range(nterm):
                a, b = tstart[t], tstart[t + 1]
                if b - a == 1:
                    score, _ = _score1(codes, s, e, tab, cls, qsel[a], qkey[a])
                    L[t] = score
                    total += score
                else:
                    L[t] = _greedy(codes, s, e, tab, qkey, qsel, a, b, F)
                if L[t] < 0:
                    total = -1
                    break
            if total < 0:
                continue
            for t in range(nterm):
                a, b = tstart[t], tstart[t + 1]
                if b - a == 1:
                    break  # the rest are one-character terms, already scored
                width = L[t] - F[a] + 1
                if width > cap:
                    cap = max(width, 2 * cap)
                    H = np.empty((2, cap), np.int32)
                    C = np.empty((2, cap), np.int32)
                score, _ = _term_dp(codes, s, tab, cls, qkey, qsel, a, b, F, L[t], H, C, False)
                total += score
            out[k] = total


@njit(cache=True)
def _positions_kernel(codes, s, e, tab, cls, qkey, qsel, tstart, pos):
    """Matched buffer positions of every query character into pos; the summed score, or -1."""
    nterm = tstart.shape[0] - 1
    F = np.empty(qkey.shape[0], np.int64)
    total = 0
    for t in range(nterm):
        a, b = tstart[t], tstart[t + 1]
        if b - a == 1:
            score, col = _score1(codes, s, e, tab, cls, qsel[a], qkey[a])
            if score < 0:
                return -1
            pos[a] = col
            total += score
            continue
        last = _greedy(codes, s, e, tab, qkey, qsel, a, b, F)
        if last < 0:
            return -1
        f0 = F[a]
        H = np.zeros((b - a, last - f0 + 1), np.int32)
        C = np.zeros((b - a, last - f0 + 1), np.int32)
        score, col = _term_dp(codes, s, tab, cls, qkey, qsel, a, b, F, last, H, C, True)
        total += score
        # Walk back along the choices the scores were built from: C > 0 marks a match cell
        # that took the diagonal, anything else came from the left.
        r = b - a - 1
        while True:
            if C[r, col - f0] > 0:
                pos[a + r] = col
                if r == 0:
                    break
                r -= 1
            col -= 1
    return total


@njit(cache=True, parallel=True)
def _tight_kernel(codes, offsets, slots, tab, cls, isword, qkey, qsel, tstart, out):
    """out[k]: label slots[k] matches, and no letter or digit lies unmatched inside the span
    of any term's matched characters."""
    nterm = tstart.shape[0] - 1
    for k in prange(slots.shape[0]):
        i = slots[k]
        s, e = offsets[i], offsets[i + 1]
        pos = np.full(qkey.shape[0], -1, np.int64)
        ok = _positions_kernel(codes, s, e, tab, cls, qkey, qsel, tstart, pos) >= 0
        t = 0
        while ok and t < nterm:
            a, b = tstart[t], tstart[t + 1]
            lo, hi = pos[a], pos[a]
            for r in range(a, b):
                lo = min(lo, pos[r])
                hi = max(hi, pos[r])
            for p in range(lo, hi + 1):
                if isword[codes[p]]:
                    found = False
                    for r in range(a, b):
                        if pos[r] == p:
                            found = True
                            break
                    if not found:
                        ok = False
                        break
            t += 1
        out[k] = ok


# ---- the index ----------------------------------------------------------------------------

class _Query(NamedTuple):
    terms: tuple[str, ...]  # per term its lower-cased characters, longest term first
    possible: bool  # False when some character occurs in no label
    qkey: np.ndarray
    qsel: np.ndarray
    tstart: np.ndarray
    qmask: np.uint64
    best: int  # the highest score any label could reach


_NO_SLOTS = np.zeros(0, np.int32)
_launch = threading.Lock()  # numba's workqueue threading layer must not be entered twice


class FuzzyIndex:
    """Labels prepared for fzf-style fuzzy search; see the module docstring."""

    def __init__(self, labels) -> None:
        # Pass 1: lengths and which code points occur; pass 2: re-encode them as alphabet
        # codes. Labels come a chunk at a time, UTF-32 encoded once per pass.
        labels = _sequence(labels)
        seen = np.zeros(0x110000, np.bool_)
        lengths_of = []
        for chunk in _text_chunks(labels):
            lengths_of.append(np.fromiter(map(len, chunk), np.int64, count=len(chunk)))
            _mark(_utf32(chunk), seen)
        lengths = np.concatenate(lengths_of) if lengths_of else np.zeros(0, np.int64)
        n = len(lengths)
        self.n = n
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        points = np.flatnonzero(seen)
        chars = [chr(c) for c in points.tolist()]
        A = len(chars)
        dtype = np.uint8 if A <= 1 << 8 else np.uint16 if A <= 1 << 16 else np.uint32
        table = np.zeros(0x110000, dtype)
        table[points] = np.arange(A)
        codes = np.empty(int(offsets[-1]), dtype)
        for a, chunk in zip(range(0, n, _CHUNK), _text_chunks(labels), strict=False):
            _encode(_utf32(chunk), table, codes, offsets[a])
        del table, seen

        lowers = [_lower1(c) for c in chars]
        folds = [_fold1(c) for c in lowers]
        keys = sorted(set(lowers) | set(folds))
        self._key = {c: k for k, c in enumerate(keys)}
        self._fold_of = dict(zip(lowers, folds, strict=False))
        tab = np.empty((2, A), np.int32)
        tab[0] = [self._key[f] for f in folds]  # compared with unaccented query characters
        tab[1] = [self._key[c] for c in lowers]  # compared with accented ones
        self._tab = tab
        self._cls = np.array([_char_class(c) for c in chars], np.int8).reshape(A)

        # One bit per folded character for the 63 commonest, one shared bit for the rest.
        counts = np.zeros(A, np.int64)
        _count(codes, counts)
        freq = np.bincount(tab[0], weights=counts, minlength=len(keys))
        bit = np.full(len(keys), 63, np.uint64)
        bit[np.argsort(-freq, kind="stable")[:63]] = np.arange(min(63, len(keys)))
        self._key_bit = np.left_shift(np.uint64(1), bit)
        masks = np.empty(n, np.uint64)
        tlen = np.empty(n, np.int64)
        _label_stats(codes, offsets, self._key_bit[tab[0]], self._cls, masks, tlen)

        # Store labels shortest first (trimmed length, then index): a label's slot is then its
        # tie-break rank, and a scan in slot order can stop once `limit` labels reached the
        # best possible score.
        self._order = np.argsort(tlen, kind="stable").astype(np.int32)
        self._slot = np.empty(n, np.int32)
        self._slot[self._order] = np.arange(n, dtype=np.int32)
        self._offsets = np.zeros(n + 1, np.int64)
        np.cumsum(lengths[self._order], out=self._offsets[1:])
        self._codes = np.empty_like(codes)
        _permute(codes, offsets, self._order, self._offsets, self._codes)
        self._masks = masks[self._order]
        del codes, offsets, masks
        self._isword = self._cls >= LOWER
        self._words = WordIndex(self._codes, self._offsets, self._isword, tab[0], self._key_bit)

        self._lock = threading.Lock()
        self._queries: OrderedDict[str, _Query] = OrderedDict()
        self._recent: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()
        self._weak: OrderedDict[str, bool] = OrderedDict()  # queries that took typo matches

    def __len__(self) -> int:
        return self.n

    @property
    def nbytes(self) -> int:
        return self._words.nbytes + sum(a.nbytes for a in (
            self._codes, self._offsets, self._masks, self._order, self._slot, self._tab,
            self._cls))

    # ---- queries --------------------------------------------------------------------------

    def _compile(self, query) -> _Query:
        if query is None:
            query = ""
        if not isinstance(query, str):
            raise InputError(f"a search query must be text, got {type(query).__name__}")
        with self._lock:
            hit = self._queries.get(query)
            if hit is not None:
                self._queries.move_to_end(query)
                return hit
        terms, keys, sels, starts = [], [], [], [0]
        qmask = 0
        possible = True
        for word in query.split():
            low = "".join(_lower1(c) for c in word if unicodedata.category(c) not in ("Cc", "Cf"))
            if low:
                terms.append(low)
        terms.sort(key=len, reverse=True)  # the kernel relies on this order
        for term in terms:
            for c in term:
                f = _fold1(c)
                accented = f != c
                k = self._key.get(c if accented else f)
                if k is None:
                    possible = False
                    k = -1
                else:
                    qmask |= int(self._key_bit[self._key[f]])
                keys.append(k)
                sels.append(1 if accented else 0)
            starts.append(len(keys))
        # Every character scores at most 16 + 10; the first one's bonus counts twice.
        best = sum((SCORE_MATCH + BONUS_BOUNDARY_WHITE) * len(t) + BONUS_BOUNDARY_WHITE
                   for t in terms)
        q = _Query(tuple(terms), possible, np.array(keys, np.int32), np.array(sels, np.int64),
                   np.array(starts, np.int64), np.uint64(qmask), best)
        with self._lock:
            self._queries[query] = q
            if len(self._queries) > 256:
                self._queries.popitem(last=False)
        return q

    def _implies(self, new: tuple[str, ...], old: tuple[str, ...]) -> bool:
        """Whatever matches all `new` terms matches all `old` ones."""
        fold = self._fold_of.get

        def covered(o: str, t: str) -> bool:
            k = 0
            for c in t:
                if k < len(o) and (c == o[k] or fold(o[k], o[k]) == o[k] == fold(c, c)):
                    k += 1
            return k == len(o)
        return all(any(covered(o, t) for t in new) for o in old)

    def _candidates(self, terms: tuple[str, ...]) -> np.ndarray | None:
        with self._lock:
            best = None
            for old, slots in self._recent.items():
                if (best is None or len(slots) < len(best)) and self._implies(terms, old):
                    best = slots
            return best

    def _remember(self, terms: tuple[str, ...], slots: np.ndarray) -> None:
        with self._lock:
            self._recent[terms] = slots
            self._recent.move_to_end(terms)
            total = sum(len(v) for v in self._recent.values())
            while len(self._recent) > _REMEMBERED or (total > 4 * self.n and
                                                      len(self._recent) > 1):
                total -= len(self._recent.popitem(last=False)[1])

    def forget(self) -> None:
        """Drop the remembered matches of earlier queries (the next search scans everything)."""
        with self._lock:
            self._recent.clear()

    def _scan(self, q: _Query, stop_at: int) -> tuple[np.ndarray, np.ndarray]:
        """Matching slots (ascending) and their scores. With stop_at > 0 the scan, in slot
        order, may stop once that many labels reached q.best: only those can rank first."""
        cand = self._candidates(q.terms)
        use_all = cand is None
        total = self.n if use_all else len(cand)
        if use_all:
            cand = _NO_SLOTS
        out = np.empty(total, np.int32)
        done, block, at_best = 0, 8192, 0
        while done < total:
            end = total if stop_at <= 0 else min(total, done + block)
            with _launch:
                _search_kernel(self._codes, self._offsets, self._masks,
                               cand[done:end],
                               done, use_all, self._tab, self._cls, q.qkey, q.qsel,
                               q.tstart, q.qmask, out[done:end])
            if stop_at > 0:
                at_best += int(np.count_nonzero(out[done:end] == q.best))
            done, block = end, block * 2
            if at_best >= stop_at > 0:
                break
        out = out[:done]
        hit = out >= 0
        slots = np.flatnonzero(hit).astype(np.int32) if use_all else cand[:done][hit]
        if done == total:
            self._remember(q.terms, slots)
        return slots, out[hit]

    def matches(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Every matching label's index (ascending, int32) and summed score (int32)."""
        q = self._compile(query)
        if not q.terms or not q.possible or self.n == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        slots, score = self._scan(q, 0)
        idx = self._order[slots]
        order = np.argsort(idx)
        return idx[order], score[order]

    def search(self, query: str, limit: int | None = 50, typos: bool = True
               ) -> tuple[np.ndarray, np.ndarray]:
        """The best `limit` matches (all when None): (int32 indices, float64 scores), best
        first; ties to the shorter label, then the lower index. A blank query matches nothing.

        With `typos` (see search_typos), a query that does not match as typed puts the labels
        whose words are within a few edits of its words first."""
        idx, score, _ = self.search_typos(query, limit) if typos else self._plain(query, limit)
        return idx, score

    def search_typos(self, query: str, limit: int | None = 50
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """search() with typo matches: (indices, scores, whether each came by typo).

        A query matches as typed when its best fzf-style match holds each term tightly: no
        letter or digit of the label left out between the term's first and last matched
        characters ("lord rings" in "Lord of the Rings", "xmen" in "X-Men"). Then fzf's order
        stands. Otherwise ("godfahter", "alein") the labels with typo matches (engine.typos)
        come first, by words matched, then summed similarity, then whether fzf matches them
        tightly, then fzf's tie-breaks; each scores its similarity share times the query's
        best possible fzf score. The fzf-style matches that are not among them follow in
        fzf's order, with their own scores."""
        if limit is not None and limit < 1:
            raise InputError(f"limit must be at least 1, got {limit}")
        q = self._compile(query)
        none = np.zeros(0, np.int32), np.zeros(0, np.float64), np.zeros(0, np.bool_)
        if not q.terms or self.n == 0:
            return none
        slots, score = self._fzf(q, limit)
        if len(slots) and self._tight(q, slots[:1])[0]:
            return self._order[slots], score.astype(np.float64), np.zeros(len(slots), np.bool_)
        words, prefix = self._query_words(query)
        t_slots, t_rank, t_share = self._words.search(words, prefix, limit)
        if not len(t_slots):
            return self._order[slots], score.astype(np.float64), np.zeros(len(slots), np.bool_)
        self._remember_weak(query)
        order = np.lexsort((t_slots, ~self._tight(q, t_slots), -t_rank))[:limit]
        t_slots, t_share = t_slots[order], t_share[order]
        rest = ~np.isin(slots, t_slots)
        slots, score = slots[rest], score[rest].astype(np.float64)
        idx = np.concatenate([t_slots, slots])[:limit]
        out = np.concatenate([t_share * q.best, score])[:limit]
        typo = np.arange(len(idx)) < len(t_slots)
        return self._order[idx], out, typo

    def _plain(self, query: str, limit: int | None):
        if limit is not None and limit < 1:
            raise InputError(f"limit must be at least 1, got {limit}")
        q = self._compile(query)
        if not q.terms or self.n == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float64), None
        slots, score = self._fzf(q, limit)
        return self._order[slots], score.astype(np.float64), None

    def _tight(self, q: _Query, slots: np.ndarray) -> np.ndarray:
        """Per slot, whether its label matches every term tightly (see search_typos)."""
        out = np.zeros(len(slots), np.bool_)
        if q.possible and len(slots):
            _tight_kernel(self._codes, self._offsets, slots.astype(np.int32), self._tab,
                          self._cls, self._isword, q.qkey, q.qsel, q.tstart, out)
        return out

    def _fzf(self, q: _Query, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The fzf-style matches' slots and scores, best first."""
        if not q.possible:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        slots, score = self._scan(q, limit or 0)
        # Slots are the tie-break rank, so (score desc, slot asc) is the whole ordering.
        key = (q.best - score.astype(np.int64)) * (self.n + 1) + slots
        if limit is not None and len(key) > limit:
            sel = np.argpartition(key, limit - 1)[:limit]
            sel = sel[np.argsort(key[sel])]
        else:
            sel = np.argsort(key)
        return slots[sel], score[sel]

    def _query_words(self, query: str) -> tuple[list[np.ndarray], bool]:
        """The query's words as folded keys (-1: a character no label has), split as label
        words are, and whether the last one is still being typed."""
        words, cur = [], []
        for ch in query + " ":
            if unicodedata.category(ch) in ("Cc", "Cf") and ch not in _WHITES:
                continue
            if _char_class(ch) >= LOWER:
                cur.append(self._key.get(_fold1(_lower1(ch)), -1))
            elif cur:
                words.append(np.array(cur, np.int32))
                cur = []
        return words, bool(query) and query[-1] not in _WHITES

    def _remember_weak(self, query: str) -> None:
        with self._lock:
            self._weak[query] = True
            self._weak.move_to_end(query)
            if len(self._weak) > 64:
                self._weak.popitem(last=False)

    def positions(self, i: int, query: str) -> list[int]:
        """Positions (code point indices) in label i of the characters the query matched, the
        alignment its score came from; [] when label i does not match. For a query whose
        search took typo matches, the label's words that match a query word within the
        edits allowed, when it has any."""
        if query in self._weak:
            spans = self._typo_spans(int(i), query)
            if spans:
                return sorted({p for a, e in spans for p in range(a, e)})
        total, pos = self._align(i, query)
        return [] if total is None else pos

    def _typo_spans(self, i: int, query: str) -> list[tuple[int, int]]:
        if not 0 <= i < self.n:
            raise InputError(f"label index {i} out of range (0..{self.n - 1})")
        slot = int(self._slot[i])
        label = self._codes[self._offsets[slot]:self._offsets[slot + 1]]
        words, prefix = self._query_words(query)
        return self._words.matched_words(self._tab[0][label], self._isword[label], words,
                                         prefix)

    def score(self, i: int, query: str) -> int | None:
        """Label i's score for the query (as search ranks it), or None when it does not match."""
        return self._align(i, query)[0]

    def _align(self, i: int, query: str) -> tuple[int | None, list[int]]:
        i = int(i)
        if not 0 <= i < self.n:
            raise InputError(f"label index {i} out of range (0..{self.n - 1})")
        q = self._compile(query)
        if not q.terms or not q.possible:
            return None, []
        slot = int(self._slot[i])
        s, e = int(self._offsets[slot]), int(self._offsets[slot + 1])
        pos = np.full(len(q.qkey), -1, np.int64)
        total = _positions_kernel(self._codes, s, e, self._tab, self._cls, q.qkey, q.qsel,
                                  q.tstart, pos)
        if total < 0:
            return None, []
        return int(total), sorted(set((pos - s).tolist()))


def _utf32(texts: list[str]) -> np.ndarray:
    # surrogatepass: lone surrogates (from surrogateescape decoding) stay one code point each.
    return np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), np.uint32)


def match_positions(label, query: str) -> list[int]:
    """Positions in `label` that `query` matches (see FuzzyIndex.positions)."""
    return FuzzyIndex([label]).positions(0, query)
