"""Fuzzy label search: fzf ranking on film titles, exact fzf scores worked out by hand, accents,
code point positions, blank and missing inputs, and narrowing from earlier queries (property)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.search import FuzzyIndex, match_positions

FELLOWSHIP = "Lord of the Rings: The Fellowship of the Ring, The (2001)"
TOWERS = "Lord of the Rings: The Two Towers, The (2002)"
KING = "Lord of the Rings: The Return of the King, The (2003)"
HOPE = "Star Wars: Episode IV - A New Hope (1977)"
EMPIRE = "Star Wars: Episode V - The Empire Strikes Back (1980)"
JEDI = "Star Wars: Episode VI - Return of the Jedi (1983)"
MENACE = "Star Wars: Episode I - The Phantom Menace (1999)"

MOVIES = [
    "Toy Story (1995)",
    "Lady of the Ringside Seats (1950)",  # "lord" scattered over four words
    KING,
    "Custard Wars (1999)",  # "star" inside a word
    "Lords of Dogtown (2005)",  # no "rings"
    HOPE,
    "Ring, The (2002)",
    "Stray Cats at War's End (2004)",  # "star" scattered
    FELLOWSHIP,
    "Mustard Swarms (1990)",  # both inside words
    EMPIRE,
    "Lord of War (2005)",
    "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
    TOWERS,
    JEDI,
    "Rings (2017)",
    MENACE,
    "Starship Troopers (1997)",
]


@pytest.fixture(scope="module")
def movies() -> FuzzyIndex:
    return FuzzyIndex(MOVIES)


def titles(idx) -> list[str]:
    return [MOVIES[i] for i in idx]


# ---- ranking --------------------------------------------------------------------------------

def test_lord_rings_ranks_the_three_films_first_shortest_first(movies):
    idx, score = movies.search("lord rings")
    # All three score the same (254, see test_exact_scores); the shorter title wins the tie.
    assert titles(idx[:3]) == [TOWERS, KING, FELLOWSHIP]
    assert titles(idx) == [TOWERS, KING, FELLOWSHIP, "Lady of the Ringside Seats (1950)"]
    assert score.tolist() == [254.0, 254.0, 254.0, 223.0]


def test_word_order_does_not_matter(movies):
    a_idx, a_score = movies.search("lord rings", limit=None)
    b_idx, b_score = movies.search("rings lord", limit=None)
    np.testing.assert_array_equal(a_idx, b_idx)
    np.testing.assert_array_equal(a_score, b_score)
    c_idx, c_score = movies.search("wars star", limit=None)
    d_idx, d_score = movies.search("star wars", limit=None)
    np.testing.assert_array_equal(c_idx, d_idx)
    np.testing.assert_array_equal(c_score, d_score)


def test_star_wars_films_before_decoys(movies):
    idx, score = movies.search("star wars")
    got = titles(idx)
    assert set(got[:4]) == {HOPE, EMPIRE, JEDI, MENACE}
    # Equal scores (228): shortest title first.
    assert got[:4] == [HOPE, MENACE, JEDI, EMPIRE]
    assert got[4:] == ["Stray Cats at War's End (2004)", "Custard Wars (1999)",
                       "Mustard Swarms (1990)"]
    assert score.tolist() == [228.0] * 4 + [196.0, 190.0, 145.0]
    assert "Starship Troopers (1997)" not in got  # no "wars" in it


def test_whole_word_decoy_ties_and_falls_to_length():
    # Terms score independently (fzf's extended search): "Stars and Wars" has "star" and "wars"
    # each as a run at a word start, exactly as "Star Wars" does, so both score 228 and the
    # tie goes to the shorter label.
    ix = FuzzyIndex([HOPE, "Stars and Wars of Xanadu (1980)", "Star Wars (1977)"])
    idx, score = ix.search("star wars")
    assert idx.tolist() == [2, 1, 0]
    assert score.tolist() == [228.0, 228.0, 228.0]


def test_word_starts_beat_inner_matches():
    labels = ["foobar", "foo_bar", "foo bar", "fooBar", "foo/bar"]
    idx, score = FuzzyIndex(labels).search("fb")
    # foo bar 57 > foo/bar 56 > fooBar 55 = foo_bar 55 (fooBar shorter) > foobar 48
    assert [labels[i] for i in idx] == ["foo bar", "foo/bar", "fooBar", "foo_bar", "foobar"]
    assert score.tolist() == [57.0, 56.0, 55.0, 55.0, 48.0]


def test_contiguous_beats_scattered():
    labels = ["xaxbxcx", "xabcx"]
    idx, score = FuzzyIndex(labels).search("abc")
    assert idx.tolist() == [1, 0]
    assert score.tolist() == [56.0, 42.0]


def test_ties_go_to_the_shorter_trimmed_label_then_the_lower_index():
    labels = ["abc def", "abc", "  abc  ", "abc", "abcd"]
    idx, score = FuzzyIndex(labels).search("abc")
    # All 88: the start of a label and a start after spaces are the same word start.
    assert score.tolist() == [88.0] * 5
    # trimmed lengths 7, 3, 3, 3, 4
    assert idx.tolist() == [1, 2, 3, 4, 0]


def test_case_insensitive(movies):
    for q in ("LORD RINGS", "Lord Rings", "lOrD rInGs"):
        idx, score = movies.search(q)
        ref_idx, ref_score = movies.search("lord rings")
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_array_equal(score, ref_score)
    ix = FuzzyIndex(["TOY STORY", "toy story"])
    assert ix.search("Toy Story")[0].tolist() == [0, 1]
    assert ix.search("toy")[1].tolist() == [88.0, 88.0]  # 36 + 2*26 in either case


def test_limit(movies):
    idx, score = movies.search("star wars", limit=2)
    assert titles(idx) == [HOPE, MENACE]
    assert len(score) == 2
    assert len(movies.search("star wars", limit=None)[0]) == 7
    assert len(movies.search("star wars", limit=1000)[0]) == 7
    assert len(movies.search("e")[0]) == len(movies.search("e", limit=None)[0])  # 50 > matches
    for bad in (0, -1):
        with pytest.raises(InputError):
            movies.search("star", limit=bad)


def test_default_limit_is_50():
    ix = FuzzyIndex([f"item {k}" for k in range(120)])
    idx, _ = ix.search("item")
    assert len(idx) == 50
    # all 114; trimmed length 6 for 0..9, 7 for 10..99, 8 for 100..119
    assert idx.tolist() == list(range(50))


# ---- exact scores -----------------------------------------------------------------------------

# Constants: 16 per matched character; bonus at the label start or after whitespace 10, after
# / , : ; | 9, after other punctuation 8, camelCase or letter→digit 7; the first character's
# bonus counts twice; a run of consecutive matches keeps its first character's bonus (at least
# 4); a gap costs 3 for its first character and 1 for each further one.
EXACT = [
    # a: 16 + 2*10 = 36; b, c continue the run with a's bonus 10: 26 + 26 -> 88
    ("abc", "abc", 88),
    # a 36; the gap "b" -3 -> 33; c 16 + 0 -> 49
    ("abc", "ac", 49),
    # a 36; the gap "bc" -3 -1 -> 32; d 16 -> 48
    ("abcd", "ad", 48),
    # b after a space: 16 + 2*10
    ("a b", "b", 36),
    # b inside a word: 16
    ("ab", "b", 16),
    # after punctuation 16 + 2*8; after a delimiter 16 + 2*9; camelCase and letter→digit 16 + 2*7
    ("a-b", "b", 32),
    ("a/b", "b", 34),
    ("aB", "b", 30),
    ("a1", "1", 30),
    # A one-character term takes the first occurrence whose bonus is a word start (>= 8), as fzf
    # does: the b after "-" (32) even though the b after the space would give 36.
    ("a-b b", "b", 32),
    # a at the start 36; B continues the run: max(own 7, first 10) -> 26 -> 62
    ("aB", "ab", 62),
    # a inside a word 16; "/" (its bonus 8 > a's 0) starts a new run: 16 + 8 + 16 -> 40;
    # b after "/" (9 > 8) starts another: 40 + 16 + 9 = 65; c continues b's run: 65 + 16 + 9 = 90
    ("xa/bc", "a/bc", 90),
    # 2 after "(": 16 + 2*8 = 32; 0, 0, 1 continue the run with bonus 8: 3*24 -> 104
    ("Ring (2001)", "2001", 104),
    # a inside a word 16; b, c run with the minimum consecutive bonus 4: 20 + 20 -> 56
    ("xabcx", "abc", 56),
    # a 16; gap -3 -> 13; b 16 -> 29; gap -3 -> 26; c 16 -> 42
    ("xaxbxcx", "abc", 42),
    # f 36; "oo " -3-1-1 -> 31; b after space 16 + 10 -> 57
    ("foo bar", "fb", 57),
    # f 36; "oo" -4 -> 32; b 16 -> 48
    ("foobar", "fb", 48),
    # f 36; "oo_" -5 -> 31; b after punctuation 16 + 8 -> 55
    ("foo_bar", "fb", 55),
    # f 36; "oo" -4 -> 32; B camelCase 16 + 7 -> 55
    ("fooBar", "fb", 55),
    # f 36; "oo/" -5 -> 31; b after a delimiter 16 + 9 -> 56
    ("foo/bar", "fb", 56),
    # Terms are summed. "lord": L after a space 36 + 3*26 = 114; "rings": 36 + 4*26 = 140
    ("The Lord of the Rings", "lord rings", 254),
    # "lord": L 36; gap "ady " -3-3 -> 30; o after a space 16+10 -> 56; gap "f the " -3-5 -> 48;
    # R after a space 16+10 -> 74; gap "ingsi" -3-4 -> 67; the d of "Ringside" 16 -> 83.
    # "rings": R 36 + 4*26 = 140. 83 + 140 = 223
    ("Lady of the Ringside Seats (1950)", "lord rings", 223),
    # "star": s inside "Custard" 16, t a r run with bonus 4: 3*20 -> 76; "wars": 36 + 3*26 = 114
    ("Custard Wars (1999)", "star wars", 190),
    # "star" in "Mustard" 76; "wars": w in "Swarms" 16, a r run 20 + 20 -> 56, gap "m" -3 -> 53,
    # s 16 -> 69; 76 + 69 = 145
    ("Mustard Swarms (1990)", "star wars", 145),
    # "ab": 36 + 26 = 62; "ba": b inside a word 16, gap " " -3 -> 13, a after a space 26 -> 39
    ("ab ab", "ab ba", 101),
    # accents fold: 36 + 5*26
    ("Amélie", "amelie", 166),
    # "soren": 36 + 4*26 = 140; "lodz" (Ł ó ź fold): 36 + 3*26 = 114
    ("Søren Łódź", "soren lodz", 254),
    # a b: 62; gap (zero-width space) -3 -> 59; c after it (punctuation class) 16+8 -> 83;
    # d continues the run with 8: 107
    ("ab\u200bcd", "abcd", 107),
    # markup is plain text: "[" after "]" 16 + 2*8 = 32; "/" after "[" 16 + 8 -> 56;
    # "]" 16 + 8 -> 80
    ("[bold]x[/]", "[/]", 80),
    # x after "]": 16 + 2*8
    ("[bold]x[/]", "x", 32),
]


@pytest.mark.parametrize("label, query, expected", EXACT)
def test_exact_scores(label, query, expected):
    ix = FuzzyIndex(["zzz", label])
    assert ix.score(1, query) == expected
    idx, score = ix.search(query, typos=False)
    assert idx.tolist() == [1]
    assert score.tolist() == [float(expected)]
    assert ix.matches(query)[1].tolist() == [expected]


def test_scores_are_integers_as_floats(movies):
    idx, score = movies.search("lord")
    assert score.dtype == np.float64
    assert np.all(score == np.round(score))
    assert idx.dtype == np.int32


# ---- accents ----------------------------------------------------------------------------------

def test_unaccented_query_finds_accented_label():
    ix = FuzzyIndex(["Amelie", "Amélie", "AMÉLIE", "Ame\u0301lie", "Amalie"])
    idx, score = ix.search("amelie")
    assert sorted(idx.tolist()) == [0, 1, 2, 3]
    # decomposed, the combining mark is a gap: a m e 36 + 2*26 = 88, gap -3 -> 85; l after the
    # mark (punctuation class) 16 + 8, i and e continue that run with 8: 85 + 3*24 = 157
    assert ix.score(3, "amelie") == 157
    assert ix.positions(3, "amelie") == [0, 1, 2, 4, 5, 6]


def test_accented_query_matches_only_itself():
    ix = FuzzyIndex(["Amelie", "Amélie", "AMÉLIE", "Amèlie"])
    plain = {"typos": False}  # typo matching folds accents on both sides
    assert sorted(ix.search("é", **plain)[0].tolist()) == [1, 2]
    assert sorted(ix.search("amélie", **plain)[0].tolist()) == [1, 2]
    assert sorted(ix.search("É", **plain)[0].tolist()) == [1, 2]
    assert ix.search("amèlie", **plain)[0].tolist() == [3]
    # "é" does not match "e": no label without an accented e
    assert FuzzyIndex(["Amelie", "e"]).search("é", **plain)[0].tolist() == []


def test_letters_without_a_decomposition_fold():
    ix = FuzzyIndex(["Søren Kierkegaard", "Łódź", "Đorđe"])
    assert ix.search("soren")[0].tolist() == [0]
    assert ix.search("lodz")[0].tolist() == [1]
    assert ix.search("dorde")[0].tolist() == [2]


def test_dotted_capital_i_folds_to_i():
    # "İ" (U+0130, I with dot above) is an accented I: "istanbul" finds it, while the
    # accented query letter matches only itself.
    ix = FuzzyIndex(["İstanbul", "Istanbul"])
    assert sorted(ix.search("istanbul")[0].tolist()) == [0, 1]
    assert ix.positions(0, "istanbul") == list(range(8))
    assert ix.search("İst")[0].tolist() == [0]


# ---- positions --------------------------------------------------------------------------------

POSITIONS = [
    ("The Lord of the Rings", "lord rings", [4, 5, 6, 7, 16, 17, 18, 19, 20]),
    ("The Lord of the Rings", "rings lord", [4, 5, 6, 7, 16, 17, 18, 19, 20]),
    ("🎬 Amélie (2001)", "amelie", [2, 3, 4, 5, 6, 7]),
    ("👨\u200d👩\u200d👧 family", "family", [6, 7, 8, 9, 10, 11]),
    ("🇫🇷 Paris", "paris", [3, 4, 5, 6, 7]),
    ("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 x", "x", [8]),
    ("שלום עולם", "עולם", [5, 6, 7, 8]),
    ("مرحبا بالعالم", "عالم", [9, 10, 11, 12]),
    ("\u200fabc", "abc", [1, 2, 3]),
    ("\u2067שלום\u2069 abc", "abc", [7, 8, 9]),
    ("ab\u200bcd", "abcd", [0, 1, 3, 4]),
    ("a\x00b", "ab", [0, 2]),
    ("[bold]x[/]", "x", [6]),
    ("[bold]x[/]", "bold", [1, 2, 3, 4]),
    ("[bold]x[/]", "[/]", [7, 8, 9]),
    ("[bold]x[/]", "[b", [0, 1]),
    ("abc", "ac", [0, 2]),
    ("a-b b", "b", [2]),
    ("xaxbxcx", "abc", [1, 3, 5]),
    ("foo bar", "fb", [0, 4]),
    ("ab ab", "ab ba", [0, 1, 3]),  # terms align independently; the union, sorted
    ("axb b", "ab", [0, 4]),  # the b at a word start, see below
]


@pytest.mark.parametrize("label, query, expected", POSITIONS)
def test_positions(label, query, expected):
    assert match_positions(label, query) == expected
    ix = FuzzyIndex(["other", label])
    assert ix.positions(1, query) == expected
    # the positions index the Python string: the characters there are the query's
    wanted = {_fold(c.lower()) for c in query if not c.isspace()}
    assert {_fold(label[p].lower()) for p in expected} <= wanted


def test_positions_agree_with_the_score_alignment():
    # "axb b": a 36; then either b at 2 (gap 1: 33 + 16 = 49) or b after the space
    # (gap 3: 36 - 5 = 31, + 16 + 10 = 57): the alignment of the score 57 is [0, 4].
    ix = FuzzyIndex(["axb b"])
    assert ix.score(0, "ab") == 57
    assert ix.positions(0, "ab") == [0, 4]


def test_positions_of_non_matching_label_and_bad_index():
    ix = FuzzyIndex(["abc", None])
    assert ix.positions(0, "abd") == []
    assert ix.positions(0, "") == []
    assert ix.positions(1, "a") == []
    assert ix.score(0, "abd") is None
    assert match_positions("abc", "x") == []
    assert match_positions(None, "a") == []
    for bad in (2, -1):
        with pytest.raises(InputError):
            ix.positions(bad, "a")


# ---- blank, missing, odd input --------------------------------------------------------------

def _assert_empty(result, score_dtype=np.float64):
    idx, score = result
    assert idx.shape == (0,) and idx.dtype == np.int32
    assert score.shape == (0,) and score.dtype == score_dtype


@pytest.mark.parametrize("query", ["", " ", "   \t\n ", "\x00\x01\x7f", "\u200b", "\u200b \u200d",
                                   "\ufeff", None])
def test_blank_queries_match_nothing(movies, query):
    _assert_empty(movies.search(query))
    _assert_empty(movies.matches(query), np.int32)
    assert movies.positions(0, query) == []


@pytest.mark.parametrize("query", ["zzz", "lord qq", "star wars xyzzy", "ω"])
def test_no_match(movies, query):
    _assert_empty(movies.search(query, typos=False))
    _assert_empty(movies.search(query, limit=None, typos=False))
    _assert_empty(movies.matches(query), np.int32)


def test_control_and_zero_width_characters_in_the_query_are_ignored(movies):
    ref = movies.search("lord rings")
    for q in ("lo\u200brd rings", "lord\x00 rin\x07gs", "\u200dlord rings\ufeff"):
        got = movies.search(q)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


def test_missing_and_empty_labels():
    labels = ["abc", None, float("nan"), "", np.nan, "nan", "None", "   "]
    ix = FuzzyIndex(labels)
    assert len(ix) == 8
    assert ix.search("nan")[0].tolist() == [5]  # the NaN is no text, not the text "nan"
    assert ix.search("none")[0].tolist() == [6]
    assert ix.search("a")[0].tolist() == [0, 5]
    for i in (1, 2, 3, 4, 7):
        assert ix.positions(i, "a") == []
        assert ix.score(i, "n") is None


def test_empty_index():
    ix = FuzzyIndex([])
    assert len(ix) == 0
    _assert_empty(ix.search("a"))
    _assert_empty(ix.matches("a"), np.int32)
    ix = FuzzyIndex([None, ""])
    _assert_empty(ix.search("a"))


def test_label_containers():
    for labels in (np.array(["Amélie", None, "Toy Story"], dtype=object),
                   pa.array(["Amélie", None, "Toy Story"]),
                   ("Amélie", None, "Toy Story")):
        ix = FuzzyIndex(labels)
        assert ix.search("amelie")[0].tolist() == [0]
        assert ix.search("toy")[0].tolist() == [2]
    with pytest.raises(InputError):
        FuzzyIndex("Toy Story")
    with pytest.raises(InputError):
        FuzzyIndex(np.array([["a", "b"]]))
    with pytest.raises(InputError):
        FuzzyIndex(["a"]).search(5)


def test_matches_in_index_order(movies):
    idx, score = movies.matches("star wars")
    assert idx.tolist() == sorted(idx.tolist())
    assert idx.dtype == np.int32 and score.dtype == np.int32
    s_idx, s_score = movies.search("star wars", limit=None)
    got = dict(zip(idx.tolist(), score.tolist(), strict=True))
    assert got == dict(zip(s_idx.tolist(), s_score.tolist(), strict=True))


# ---- narrowing from earlier queries ---------------------------------------------------------

def _same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].dtype == b[0].dtype == np.int32
    assert a[1].dtype == b[1].dtype == np.float64


def test_typing_and_backspacing_gives_fresh_results():
    typed = ["s", "st", "sta", "star", "star ", "star w", "star wa", "star war", "star wars",
             "star war", "star w", "star", "sta", "star", "star r", "star re", "r star",
             "l", "lo", "lor", "lord", "lord r", "lord ri", "lor ri", "lord ri", "lord rings"]
    ix = FuzzyIndex(MOVIES)
    for q in typed:
        _same(ix.search(q, limit=None), FuzzyIndex(MOVIES).search(q, limit=None))
        _same(ix.search(q, limit=3), FuzzyIndex(MOVIES).search(q, limit=3))


def test_narrowing_is_used_and_respects_accents():
    ix = FuzzyIndex(["Amélie", "Amelie", "Emil"])
    assert sorted(ix.search("e")[0].tolist()) == [0, 1, 2]
    assert ix._candidates(("é",)) is not None  # "é" can only match where "e" did
    assert ix.search("é")[0].tolist() == [0]
    assert ix.search("amé")[0].tolist() == [0]
    # an earlier "é" must not narrow a later "e"
    ix2 = FuzzyIndex(["Amélie", "Amelie", "Emil"])
    assert ix2.search("é")[0].tolist() == [0]
    assert sorted(ix2.search("e")[0].tolist()) == [0, 1, 2]
    assert sorted(ix2.search("am")[0].tolist()) == [0, 1]
    ix2.forget()
    assert sorted(ix2.search("ame")[0].tolist()) == [0, 1]


def test_early_stop_over_many_labels():
    # More labels than one scan block (8192): a search with a limit may stop scanning once
    # `limit` labels reached the best possible score; it must still return the true top.
    n = 20000
    labels = [("" if k % 7 == 0 else "x" * (k % 7)) + f"item {k}" for k in range(n)]
    labels += ["item " + "q" * 40 + str(j) for j in range(3)]
    ix = FuzzyIndex(labels)
    # "item" at the start: 36 + 3*26 = 114, the best possible; shortest first: item 0, 7, 14..
    idx, score = ix.search("item", limit=5)
    assert idx.tolist() == [0, 7, 14, 21, 28]
    assert score.tolist() == [114.0] * 5
    # that scan stopped early: it must not be remembered as all of "item"'s matches
    _same(ix.search("item 1", limit=None), FuzzyIndex(labels).search("item 1", limit=None))
    full = ix.search("item", limit=None)
    assert len(full[0]) == n + 3
    _same((full[0][:5], full[1][:5]), (idx, score))

    # Here every short label matches inside a word (16 + 3*20 = 76) and only the three longest
    # reach 114: the scan must not stop before them.
    labels = ["x" + f"item {k}" for k in range(n)] + labels[n:]
    idx, score = FuzzyIndex(labels).search("item", limit=3)
    assert idx.tolist() == [n, n + 1, n + 2]
    assert score.tolist() == [114.0] * 3
    assert FuzzyIndex(labels).search("item", limit=None)[1][3] == 76.0


# ---- property: cache equals fresh, matches equal the subsequence rule -----------------------

def _fold(ch: str) -> str:
    d = unicodedata.normalize("NFD", ch)
    if len(d) > 1 and all(unicodedata.combining(c) for c in d[1:]):
        return d[0]
    return ch


def _terms(query: str) -> list[str]:
    out = []
    for word in query.split():
        t = "".join(c.lower() for c in word if unicodedata.category(c) not in ("Cc", "Cf"))
        if t:
            out.append(t)
    return out


def _char_matches(q: str, ch: str) -> bool:
    low = ch.lower()
    if _fold(q) != q:  # an accented query letter: only itself
        return low == q
    return _fold(low) == q


def _contains(label: str, term: str) -> bool:
    k = 0
    for ch in label:
        if k < len(term) and _char_matches(term[k], ch):
            k += 1
    return k == len(term)


# Small alphabets, so that queries often match, and accented and plain forms of one letter meet.
LABEL_CHARS = "aenrAEN éÉèñ-_/"
QUERY_CHARS = "aenrAE éÉñ\u200b"
BACKSPACE = None

labels_st = st.lists(st.one_of(st.text(LABEL_CHARS, max_size=10), st.none()), max_size=12)
keys_st = st.lists(st.sampled_from([*QUERY_CHARS, *[BACKSPACE] * 5]), min_size=1, max_size=16)


@settings(max_examples=100, deadline=None, database=None)
@given(labels=labels_st, keys=keys_st)
def test_cached_narrowing_equals_fresh_index(labels, keys):
    ix = FuzzyIndex(labels)
    texts = ["" if x is None else x for x in labels]
    query = ""
    for key in keys:
        query = query[:-1] if key is BACKSPACE else query + key
        got = ix.search(query, limit=None, typos=False)
        _same(got, FuzzyIndex(labels).search(query, limit=None, typos=False))
        top = ix.search(query, limit=3, typos=False)
        _same(top, (got[0][:3], got[1][:3]))

        terms = _terms(query)
        expected = {i for i, t in enumerate(texts)
                    if terms and all(_contains(t, term) for term in terms)}
        assert set(got[0].tolist()) == expected
        assert len(got[0]) == len(expected)  # no duplicates
        assert np.all(np.diff(got[1]) <= 0)  # best first
        for i, s in zip(got[0].tolist(), got[1].tolist(), strict=True):
            assert ix.score(i, query) == s
            pos = ix.positions(i, query)
            assert pos == sorted(set(pos))
            assert max(map(len, terms)) <= len(pos) <= sum(map(len, terms))
            assert all(any(_char_matches(c, texts[i][p]) for t in terms for c in t)
                       for p in pos)
