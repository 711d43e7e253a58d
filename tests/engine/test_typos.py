"""Typo-tolerant search: the edit distance against a direct implementation and worked values,
and how typo matches blend with the fzf-style ranking (engine.typos, FuzzyIndex.search_typos)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.search import FuzzyIndex
from engine.typos import PREFIX_WEIGHT, _osa, max_edits


def osa_direct(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook full-matrix recurrence."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def osa_kernel(q: str, w: str, k: int, prefix: bool = False) -> int:
    qa = np.array([ord(c) for c in q], np.int32)
    wa = np.array([ord(c) for c in w], np.int32)
    scratch = [np.empty(len(q) + 1, np.int64) for _ in range(3)]
    return int(_osa(qa, wa, 0, len(w), k, prefix, *scratch))


@pytest.mark.parametrize("a, b, expected", [
    ("godfahter", "godfather", 1),  # one swap of adjacent letters
    ("shawshenk", "shawshank", 1),  # one substitution
    ("trainspoting", "trainspotting", 1),  # one insertion
    ("ca", "abc", 3),  # OSA, not Damerau-Levenshtein (2): no substring is edited twice
    ("kitten", "sitting", 3),
    ("", "abc", 3),
    ("abc", "abc", 0),
])
def test_worked_distances(a, b, expected):
    assert osa_direct(a, b) == expected
    assert osa_kernel(a, b, 5) == expected


@settings(max_examples=300, deadline=None, database=None)
@given(a=st.text("abcd", max_size=7), b=st.text("abcd", max_size=9), k=st.integers(0, 3))
def test_kernel_agrees_with_the_direct_recurrence(a, b, k):
    d = osa_direct(a, b)
    assert osa_kernel(a, b, k) == (d if d <= k else k + 1)
    best = min(osa_direct(a, b[:j]) for j in range(len(b) + 1))
    assert osa_kernel(a, b, k, prefix=True) == (best if best <= k else k + 1)


def test_edits_allowed_grow_with_the_word():
    assert [max_edits(n) for n in range(1, 9)] == [0, 0, 1, 1, 1, 2, 2, 2]


MOVIES = ["Godfather, The", "Godfather: Part II, The", "Shawshank Redemption, The", "Star Wars",
          "Under Western Stars", "Lord of the Rings, The", "Amélie", "X-Men", "Men", "Amen.",
          "Alien", "Alex in Wonder", "Psycho", "Psycosissimo", "Casablanca"]


@pytest.fixture(scope="module")
def index():
    return FuzzyIndex(MOVIES)


def top(index, query, k=3):
    idx, _, typo = index.search_typos(query, k)
    return [MOVIES[i] for i in idx], typo.tolist()


@pytest.mark.parametrize("query, first", [
    ("godfahter", "Godfather, The"),
    ("shawshenk redemtion", "Shawshank Redemption, The"),
    ("star wras", "Star Wars"),
    ("lord of the rigns", "Lord of the Rings, The"),
    ("amelei", "Amélie"),  # accents fold on both sides
    ("alein", "Alien"),  # fzf's first, "Alex in Wonder", leaves out the x
    ("casablanka", "Casablanca"),
])
def test_misspelt_queries_find_the_title(index, query, first):
    found, typo = top(index, query)
    assert found[0] == first and typo[0]
    assert index.search(query, 3, typos=False)[0].tolist()[:1] != [MOVIES.index(first)] \
        or query == "star wras"  # fzf alone does not (for "star wras" it ranks a decoy first)


@pytest.mark.parametrize("query", ["godfather", "lord rings", "star w", "xmen", "psyco", "sw",
                                   "men"])
def test_queries_that_match_as_typed_keep_fzf_order(index, query):
    idx, score, typo = index.search_typos(query, None)
    plain = index.search(query, None, typos=False)
    np.testing.assert_array_equal(idx, plain[0])
    np.testing.assert_array_equal(score, plain[1])
    assert not typo.any()


def test_more_words_matched_rank_first_and_typo_hits_precede_fzf_hits(index):
    idx, score, typo = index.search_typos("lord of the rigns", None)
    found = [MOVIES[i] for i in idx]
    assert found[0] == "Lord of the Rings, The"
    # the Godfathers match only "the": after the film that matches all four words
    assert set(found[1:3]) <= {"Godfather, The", "Godfather: Part II, The",
                               "Shawshank Redemption, The"}
    assert typo.tolist() == sorted(typo.tolist(), reverse=True)  # typo matches first


def test_a_typo_scores_its_similarity_share_of_the_best_score(index):
    q = index._compile("godfahter")
    idx, score, typo = index.search_typos("godfahter", 1)
    assert typo[0]
    assert score[0] == pytest.approx((1 - 1 / 9) * q.best, rel=1e-6)


def test_a_word_still_being_typed_matches_as_a_prefix(index):
    idx, score, typo = index.search_typos("shawshenk redem", 1)
    assert MOVIES[idx[0]] == "Shawshank Redemption, The"
    q = index._compile("shawshenk redem")
    # shawshenk: 1 edit of 9; redem: a prefix of redemption, weighted
    assert score[0] == pytest.approx(((1 - 1 / 9) + PREFIX_WEIGHT) / 2 * q.best, rel=1e-6)
    # with a space after it, the word is whole and "redem" is 5 edits from "redemption"
    idx, _, typo = index.search_typos("shawshenk redem ", 3)
    assert MOVIES[idx[0]] == "Shawshank Redemption, The" and typo[0]


def test_typo_positions_are_the_matched_words(index):
    i = MOVIES.index("Shawshank Redemption, The")
    index.search_typos("shawshenk redemtion", 3)
    assert index.positions(i, "shawshenk redemtion") == list(range(0, 9)) + list(range(10, 20))


def test_short_words_must_match_exactly(index):
    # "mn" (two letters) allows no edit, so it is not "men"; fzf's subsequence match stands
    idx, _, typo = index.search_typos("mn", None)
    assert not typo.any()


def test_limit_keeps_the_order_of_the_full_list(index):
    for q in ("godfahter", "lord of the rigns", "alein", "amelei", "star wras"):
        full = index.search_typos(q, None)
        for k in (1, 2, 3, 5):
            part = index.search_typos(q, k)
            np.testing.assert_array_equal(part[0], full[0][:k])
            np.testing.assert_array_equal(part[2], full[2][:k])


def test_blank_and_wordless_queries(index):
    for q in ("", "   ", "—", "...", "\u200b"):
        idx, score = index.search(q)
        if q.strip(" \u200b"):
            assert len(idx) == len(score)
        else:
            assert len(idx) == 0


def test_labels_without_words_and_an_empty_index():
    ix = FuzzyIndex(["", "—", "!!", None])
    assert ix.search("abc")[0].tolist() == []
    assert FuzzyIndex([]).search("godfahter")[0].tolist() == []
