"""Texts → words → windows of W consecutive words, each window one collection.

The tokenizer (TOKENIZER_VERSION 1, in the ingest step's key) is deliberately simple:

1. lower-case; the typographic apostrophes ’ and ‘ become ';
2. URLs (`http://…`, `https://…`, `www.…` up to the next space) and HTML entities (`&amp;`,
   `&#39;`) are removed;
3. a word is a run of letters and digits of any script, with inner apostrophes kept
   (`don't`, `trump's`); everything else separates words. So `@realDonaldTrump` gives
   `realdonaldtrump`, `#MAGA` gives `maga`, `2016` and `10` are words, `e-mail` is two.

Stop words (one a line, read with the same tokenizer, so `Don’t` in the list drops `don't`)
are removed before windowing, so a window spans W words that are kept. A text of at least W
words gives its L − W + 1 windows; a shorter text with at least one word is one collection
of all its words, so short texts still count; a text with none gives nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import InputError
from engine.paths import check_file

TOKENIZER_VERSION = 1
_DROP = re.compile(r"https?://\S*|www\.\S*|&#?[a-z0-9]+;")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str | None) -> list[str]:
    if not text:
        return []
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return _WORD.findall(_DROP.sub(" ", text))


def stop_words_key(path: str | None) -> str | None:
    """The stop-word file's content hash, for the ingest step's key (None: no file)."""
    if path is None:
        return None
    return hashlib.sha256(_read_bytes(path)).hexdigest()


def _read_bytes(path: str) -> bytes:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file (--stop-words)")
    check_file(path, "a stop-word file")
    with open(path, "rb") as fh:
        return fh.read()


def read_stop_words(path: str | None) -> set[str]:
    if path is None:
        return set()
    text = _read_bytes(path).decode("utf-8", errors="replace")
    return {w for line in text.splitlines() for w in tokenize(line)}


class Windows(NamedTuple):
    vocabulary: pa.Array  # string: the word of each entity code
    coll: np.ndarray  # int64 window number of each membership
    ent: np.ndarray  # int64 word code of each membership (distinct within a window)
    text: np.ndarray  # int64 text (row) of each window
    start: np.ndarray  # int64 position of each window's first word in its text


def windows(texts, w: int, stop_words=frozenset()) -> Windows:
    """Every window of `w` consecutive words of each text (see the module's rules).

    One regex call a text; the rest (codes, stop words, windows) is vectorised.
    """
    if w < 2:
        raise InputError(f"--windows must be at least 2 (got {w}): a window of one word "
                         "has no pair")
    tokens = [tokenize(t) for t in texts]
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    flat = pa.array(list(itertools.chain.from_iterable(tokens)), pa.string())
    encoded = pc.dictionary_encode(flat)
    vocab = encoded.dictionary
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    text_of = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
    if stop_words and len(vocab):
        stop = pc.is_in(vocab, value_set=pa.array(sorted(stop_words), pa.string()))
        keep = ~stop.to_numpy(zero_copy_only=False)[codes]
        codes, text_of = codes[keep], text_of[keep]
        lengths = np.bincount(text_of, minlength=len(tokens)).astype(np.int64)
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    n_win = np.where(lengths >= w, lengths - w + 1, np.minimum(lengths, 1))
    win_text = np.repeat(np.arange(len(tokens), dtype=np.int64), n_win)
    first = np.cumsum(n_win) - n_win
    start = np.arange(len(win_text), dtype=np.int64) - np.repeat(first, n_win)
    size = np.minimum(w, lengths[win_text])
    pos = offsets[win_text][:, None] + start[:, None] + np.arange(w)[None, :]
    inside = np.arange(w)[None, :] < size[:, None]
    coll = np.broadcast_to(np.arange(len(win_text), dtype=np.int64)[:, None], pos.shape)
    coll, ent = coll[inside], codes[pos[inside]]
    # a word twice in one window is one membership
    key = np.unique(coll * max(len(vocab), 1) + ent)
    return Windows(vocab, key // max(len(vocab), 1), key % max(len(vocab), 1), win_text,
                   start)
