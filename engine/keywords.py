"""Cluster keywords: class-based TF-IDF (c-TF-IDF, as BERTopic defines it) over the entities'
label words and metadata values, and each cluster's most central member.

Every entity is a bag of terms: the words of its label (lower-cased runs of letters, digits
and inner apostrophes, two characters or more, English stop words dropped) and the values of
its text metadata columns (a column whose values are mostly "A|B|C" gives each of A, B and C;
a column with more distinct values than half its values, free text or identifiers, gives
none; numeric columns give none). A word and a metadata value are different terms even when
they read the same.

The classes are the listed clusters and one class of every entity outside them (as BERTopic
keeps its outlier topic), each the concatenation of its members' bags. With tf_{t,c} the count
of term t in class c, f_t = Σ_c tf_{t,c} its count over all classes and A the average number
of terms per class,

    W_{t,c} = (tf_{t,c} / Σ_t' tf_{t',c}) · log(1 + A / f_t)

(tf L1-normalised per class, BERTopic's `ClassTfidfTransformer` with its defaults, A kept
fractional). A cluster's keywords are its terms by W, highest first (ties: label words first,
then each column's values, each in order of first appearance), among those held by at least
two of its members (all of them in a cluster of one), so one member's odd word never names
the cluster. Its label is its first three keywords (one that reads as an earlier one, in
any case, left out); without a keyword, its most central
member's label: the member with the highest weighted degree inside the cluster (the sum of
the similarities of its neighbour-graph edges, in and out, to other members; ties: the lower
index).
"""

from __future__ import annotations

from importlib.resources import files
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

STOP_WORDS = "english_stop_words.txt"  # package data beside this module
LABEL_TERMS = "label"  # where a label word comes from, in Keyword.column
KEYWORDS = 5  # listed per cluster
LABEL_KEYWORDS = 3  # of them in its label
MIN_SUPPORT = 2  # members a keyword must be in (fewer only in a smaller cluster)
MULTI_VALUED = 0.3  # a column is "A|B|C" when this share of its values hold a "|"
MAX_DISTINCT = 0.5  # a column with more distinct values than this share of its values: none
_SEPARATORS = r"[^\p{L}\p{N}']+"  # RE2, Unicode classes


def stop_words_path() -> str:
    return str(files("engine") / STOP_WORDS)


class Terms(NamedTuple):
    """The bag of terms of every entity."""

    counts: sp.csr_matrix  # (n, V) int32: occurrences of term t in entity i
    text: pa.Array  # (V,) string: each term as shown (a word, or a metadata value)
    source: np.ndarray  # (V,) int16: which of `sources` it came from
    sources: list[str]  # LABEL_TERMS, then the metadata columns that gave terms

    def term(self, t: int) -> tuple[str, str]:
        """(text, column) of term t."""
        return self.text[int(t)].as_py(), self.sources[int(self.source[int(t)])]


class Keyword(NamedTuple):
    text: str
    column: str
    score: float


class ClusterNames(NamedTuple):
    """Keywords, label and central member of the first `len(labels)` listed clusters."""

    keywords: list[list[Keyword]]
    labels: list[str]
    central: np.ndarray  # int64 entity index per cluster (-1: an empty cluster)


def label_words(labels: pa.Array, stop_words: set[str], chunk: int = 1 << 17
                ) -> tuple[np.ndarray, pa.Array]:
    """(entity of each word, the words) of every label, vectorised in Arrow a chunk of labels
    at a time (the intermediate strings of one chunk only)."""
    stop = pa.array(sorted(stop_words), pa.string())
    owners, found = [], []
    for lo in range(0, len(labels), chunk):
        text = pc.replace_substring(pc.utf8_lower(labels.slice(lo, chunk)), "\u2019", "'")
        parts = pc.split_pattern_regex(pc.fill_null(text, ""), _SEPARATORS)
        owner = pc.list_parent_indices(parts).to_numpy().astype(np.int32) + lo
        words = pc.utf8_trim(pc.list_flatten(parts), "'")
        keep = pc.and_(pc.greater_equal(pc.utf8_length(words), 2),
                       pc.invert(pc.is_in(words, stop)))
        owners.append(owner[keep.to_numpy(zero_copy_only=False)])
        found.append(pc.filter(words, keep))
    if not found:
        return np.zeros(0, np.int32), pa.array([], pa.string())
    return np.concatenate(owners), pa.concat_arrays(found)


def column_values(values: pa.Array) -> tuple[np.ndarray, pa.Array] | None:
    """(entity of each value, the values) of a text column; None when it names no group."""
    values = pc.utf8_trim_whitespace(values.cast(pa.string()))
    sample = pc.drop_null(values.slice(0, 1000))
    multi = len(sample) and pc.mean(pc.cast(pc.match_substring(sample, "|"), pa.int8())
                                     ).as_py() > MULTI_VALUED
    if multi:
        parts = pc.split_pattern(pc.fill_null(values, ""), "|")
        owner = pc.list_parent_indices(parts).to_numpy()
        values = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    else:
        owner = np.arange(len(values))
        values = pc.fill_null(values, "")
    keep = pc.greater(pc.utf8_length(values), 0)
    owner, values = owner[keep.to_numpy(zero_copy_only=False)], pc.filter(values, keep)
    if len(pc.unique(values)) > MAX_DISTINCT * len(values):
        return None
    return owner, values


def terms(labels: pa.Array, columns: dict[str, pa.Array], stop_words: set[str]) -> Terms:
    """Every entity's bag: its label words, then its text columns' values."""
    n = len(labels)
    sources = [(LABEL_TERMS, label_words(labels, stop_words))]
    sources += [(name, found) for name, col in columns.items()
                if pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
                if (found := column_values(col)) is not None]
    rows, cols, text, source = [], [], [], []
    size = 0
    for s, (_, (owner, values)) in enumerate(sources):
        coded = pc.dictionary_encode(values)
        rows.append(owner.astype(np.int32))
        cols.append(coded.indices.to_numpy(zero_copy_only=False).astype(np.int32) + size)
        text.append(coded.dictionary.cast(pa.string()))
        source.append(np.full(len(coded.dictionary), s, dtype=np.int16))
        size += len(coded.dictionary)
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sp.csr_matrix((np.ones(len(r), np.int32), (r, c)), shape=(n, size))
    counts.sum_duplicates()
    return Terms(counts, pa.concat_arrays(text), np.concatenate(source),
                 [name for name, _ in sources])


def class_rows(order: np.ndarray, offsets: np.ndarray, n: int, limit: int
               ) -> tuple[sp.csr_matrix, np.ndarray, bool]:
    """The membership matrix of the first `limit` listed clusters ((limit, n), 1 per member),
    how many classes each entity is in (its clusters, or the class of the rest) and whether
    that class of the rest has any member."""
    sizes = np.diff(offsets)
    pos = np.repeat(np.arange(len(sizes)), sizes)
    multiplicity = np.bincount(order, minlength=n)
    rest = bool((multiplicity == 0).any())
    multiplicity[multiplicity == 0] = 1
    end = int(offsets[limit])
    member = sp.csr_matrix((np.ones(end, np.float64), (pos[:end], order[:end])),
                           shape=(limit, n))
    return member, multiplicity, rest


def ctfidf(class_counts: sp.csr_matrix, term_totals: np.ndarray, n_classes: int
           ) -> sp.csr_matrix:
    """W_{t,c} of the classes given (rows), from their term counts, every term's count over
    all classes (f_t) and the number of classes (for A)."""
    f = np.asarray(term_totals, dtype=np.float64)
    a = f.sum() / max(n_classes, 1)
    idf = np.zeros(len(f))
    present = f > 0
    idf[present] = np.log1p(a / f[present])
    tf = sp.csr_matrix(class_counts, dtype=np.float64)
    row_sums = np.asarray(tf.sum(axis=1)).ravel()
    scale = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
    return sp.diags(scale) @ tf @ sp.diags(idf)


def central_members(order: np.ndarray, offsets: np.ndarray, limit: int, n: int,
                    idx: np.ndarray, sim: np.ndarray) -> np.ndarray:
    """Each of the first `limit` clusters' member with the highest weighted degree inside it
    (in and out edges to other members); ties: the lower index."""
    end = int(offsets[limit])
    central = np.full(limit, -1, np.int64)
    if end == 0:
        return central
    pos = np.repeat(np.arange(limit, dtype=np.int64), np.diff(offsets[:limit + 1]))
    ent = order[:end].astype(np.int64)
    degree = np.zeros(end, np.float64)
    entry_of = np.full(n, -1, np.int64)  # without overlap: each entity's one entry
    entry_of[ent] = np.arange(end)
    overlap = bool((entry_of[ent] != np.arange(end)).any())
    if overlap:  # an entity in several clusters: find (cluster, entity) entries by key
        key = pos * n + ent
        sort = np.argsort(key, kind="stable")
        keys = key[sort]
    for col in range(idx.shape[1]):  # a column of the neighbour lists at a time
        j = idx[ent, col].astype(np.int64)
        s = sim[ent, col].astype(np.float64)
        ok = (j >= 0) & (j != ent) & np.isfinite(s)
        if overlap:
            want = pos * n + j
            at = sort[np.minimum(np.searchsorted(keys, want), end - 1)]
            hit = ok & (pos[at] == pos) & (ent[at] == j)
        else:
            at = entry_of[np.where(j >= 0, j, 0)]
            hit = ok & (at >= 0) & (pos[np.maximum(at, 0)] == pos)
        w = np.where(hit, s, 0.0)
        degree += w  # the entry's out-edge to another member
        degree += np.bincount(np.maximum(at, 0), weights=w, minlength=end)  # its in-edge
    best = np.lexsort((ent, -degree, pos))  # by cluster, degree down, index up
    first = np.flatnonzero(np.r_[True, pos[best][1:] != pos[best][:-1]])
    central[pos[best][first]] = ent[best][first]
    return central


def cluster_names(term_bags: Terms, order: np.ndarray, offsets: np.ndarray,
                  labels: np.ndarray, idx: np.ndarray, sim: np.ndarray,
                  limit: int | None = None) -> ClusterNames:
    """Keywords and label of the first `limit` listed clusters (default: all), scored
    against every listed cluster and the rest (see the module's rules)."""
    counts = term_bags.counts
    n = counts.shape[0]
    n_listed = len(offsets) - 1
    limit = n_listed if limit is None else min(int(limit), n_listed)
    member, multiplicity, rest = class_rows(np.asarray(order, np.int64), np.asarray(offsets),
                                            n, limit)
    totals = np.asarray(counts.T @ multiplicity.astype(np.float64)).ravel()
    n_classes = n_listed + int(rest)
    scores = ctfidf(member @ counts, totals, n_classes).tocsr()
    support = (member @ (counts > 0).astype(np.float64)).tocsr()
    sizes = np.diff(offsets[:limit + 1])
    central = central_members(np.asarray(order), np.asarray(offsets), limit, n, idx, sim)
    keywords, names = [], []
    for c in range(limit):  # per listed cluster, over its own few terms
        lo, hi = scores.indptr[c], scores.indptr[c + 1]
        t, w = scores.indices[lo:hi], scores.data[lo:hi]
        held = _row_values(support, c, t)
        ok = (held >= min(MIN_SUPPORT, int(sizes[c]))) & (w > 0)
        t, w = t[ok], w[ok]
        top = np.lexsort((t, -w))[:KEYWORDS]
        found = [Keyword(*term_bags.term(t[i]), float(w[i])) for i in top]
        keywords.append(found)
        if found:
            names.append(", ".join(distinct_texts(found)[:LABEL_KEYWORDS]))
        else:
            names.append(str(labels[central[c]]) if central[c] >= 0 else "")
    return ClusterNames(keywords, names, central)


def distinct_texts(keywords: list[Keyword]) -> list[str]:
    """The keywords' texts, a word read the same as a value before it (alpha the label word
    after alpha the group) left out."""
    seen, out = set(), []
    for kw in keywords:
        if kw.text.casefold() not in seen:
            seen.add(kw.text.casefold())
            out.append(kw.text)
    return out


def _row_values(m: sp.csr_matrix, row: int, cols: np.ndarray) -> np.ndarray:
    """m[row, cols] of a CSR matrix, 0 where absent."""
    lo, hi = m.indptr[row], m.indptr[row + 1]
    have, vals = m.indices[lo:hi], m.data[lo:hi]
    if len(have) == 0:
        return np.zeros(len(cols))
    order = np.argsort(have)
    have, vals = have[order], vals[order]
    at = np.minimum(np.searchsorted(have, cols), len(have) - 1)
    return np.where(have[at] == cols, vals[at], 0)
