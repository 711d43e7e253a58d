"""Cluster keywords: c-TF-IDF on values worked out by hand and against a direct version."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from engine.clusters import group
from engine.keywords import (
    KEYWORDS,
    MIN_SUPPORT,
    central_members,
    cluster_names,
    column_values,
    label_words,
    terms,
)

NO_GRAPH = (np.full((0, 0), -1, np.int32), np.zeros((0, 0), np.float32))


def names_of(labels, cluster_of, columns=None, graph=None, stop=frozenset()):
    labels = list(labels)
    bags = terms(pa.array(labels), {k: pa.array(v) for k, v in (columns or {}).items()},
                 set(stop))
    view = group(np.asarray(cluster_of), 2)
    n = len(labels)
    idx, sim = graph if graph is not None else (np.full((n, 1), -1, np.int32),
                                                np.zeros((n, 1), np.float32))
    return view, cluster_names(bags, view.order, view.offsets, np.array(labels, object),
                               idx, sim)


def test_hand_worked_scores():
    # cluster {0, 1}: red 2, apple 1, cherry 1; the rest {2, 3}: green, apple, blue, sky.
    # A = 8 terms / 2 classes = 4; f: red 2, apple 2, cherry 1.
    # W(red) = 2/4 · ln(1 + 4/2); W(cherry) = 1/4 · ln(1 + 4/1); W(apple) = 1/4 · ln 3.
    labels = ["red apple", "red cherry", "green apple", "blue sky"]
    bags = terms(pa.array(labels), {}, set())
    view = group(np.array([0, 0, 1, 2]), 2)
    from engine.keywords import class_rows, ctfidf
    member, mult, rest = class_rows(view.order.astype(np.int64), view.offsets, 4, 1)
    assert rest and mult.tolist() == [1, 1, 1, 1]
    totals = np.asarray(bags.counts.T @ mult.astype(float)).ravel()
    w = ctfidf(member @ bags.counts, totals, 2).toarray()[0]
    score = dict(zip(bags.text.to_pylist(), w.tolist(), strict=True))
    assert score["red"] == pytest.approx(0.5 * math.log(3))
    assert score["cherry"] == pytest.approx(0.25 * math.log(5))
    assert score["apple"] == pytest.approx(0.25 * math.log(3))
    assert score["green"] == score["sky"] == 0
    names = cluster_names(bags, view.order, view.offsets, np.array(labels, object),
                          np.full((4, 1), -1, np.int32), np.zeros((4, 1), np.float32))
    # cherry scores higher than apple but only one member holds either: red alone names it
    assert [k.text for k in names.keywords[0]] == ["red"]
    assert names.labels == ["red"]
    assert names.keywords[0][0].score == pytest.approx(0.5 * math.log(3))


def test_metadata_values_split_and_named_by_column():
    labels = ["a1", "b2", "c3", "d4", "e5", "f6"]
    genres = ["Animation|Fantasy", "Animation|Drama", "Drama", "Drama|War", "War", "Drama"]
    view, names = names_of(labels, [0, 0, 0, 1, 1, 1], {"genres": genres})
    first = names.keywords[0]
    assert first[0].text == "Animation" and first[0].column == "genres"
    assert {k.column for c in names.keywords for k in c} == {"genres"}


def test_label_word_and_metadata_value_are_different_terms():
    bags = terms(pa.array(["drama queen", "x"]), {"genres": pa.array(["drama", "drama"])},
                 set())
    assert sorted(bags.term(t) for t in range(len(bags.text))) == [
        ("drama", "genres"), ("drama", "label"), ("queen", "label")]


def test_columns_that_name_no_group_give_no_terms():
    n = 10
    assert column_values(pa.array([f"id{i}" for i in range(n)])) is None  # all distinct
    owner, values = column_values(pa.array(["x", None, "", " y "] + ["x"] * 6))
    assert values.to_pylist() == ["x", "y"] + ["x"] * 6 and owner.tolist()[:2] == [0, 3]
    bags = terms(pa.array(["aa"] * n), {"year": pa.array(range(n))}, set())
    assert bags.sources == ["label"]  # numbers give none


def test_label_words_rules():
    owner, words = label_words(pa.array(["The Lord of the Rings: The Two Towers",
                                         "Don’t Look Now", None, "Amélie (2001)", "X-2"]),
                               {"the", "of"})
    got = list(zip(owner.tolist(), words.to_pylist(), strict=True))
    assert got == [(0, "lord"), (0, "rings"), (0, "two"), (0, "towers"), (1, "don't"),
                   (1, "look"), (1, "now"), (3, "amélie"), (3, "2001")]


def test_no_keyword_falls_back_to_the_most_central_member():
    # every label unique: no term held by two members, so the central member names it
    labels = ["alpha", "beta", "gamma", "delta"]
    idx = np.array([[1, 2], [0, 2], [1, 0], [0, -1]], np.int32)
    sim = np.array([[0.9, 0.1], [0.9, 0.8], [0.8, 0.1], [0.5, np.nan]], np.float32)
    view, names = names_of(labels, [0, 0, 0, 1], graph=(idx, sim))
    # weighted degree inside {0, 1, 2}: 0 → .9 + .1 out, .9 + .1 in = 2.0;
    # 1 → .9 + .8 out, .9 in (from 0), .8 in (from 2) = 3.4; 2 → .9 + .9 = 1.8
    assert names.keywords[0] == [] and names.central[0] == 1 and names.labels[0] == "beta"


def slow_names(labels, columns, cluster_of, idx, sim, stop=frozenset()):
    """The module's rules, written out with Counters over Python strings."""
    import re
    n = len(labels)

    def words(text):
        text = (text or "").lower().replace("\u2019", "'")
        out = [w.strip("'") for w in re.split(r"[^\w']+|_", text)]
        return [w for w in out if len(w) >= 2 and w not in stop]

    bags = [Counter() for _ in range(n)]
    first = {}
    for i, lab in enumerate(labels):
        for w in words(lab):
            bags[i][("label", w)] += 1
            first.setdefault(("label", w), len(first))
    for name, col in columns.items():
        for i, v in enumerate(col):
            for part in v.split("|"):
                if part.strip():
                    bags[i][(name, part.strip())] += 1
                    first.setdefault((name, part.strip()), len(first))
    sizes = Counter(cluster_of)
    listed = sorted((c for c in sizes if sizes[c] >= 2), key=lambda c: (-sizes[c], c))
    classes = [[i for i in range(n) if cluster_of[i] == c] for c in listed]
    rest = [i for i in range(n) if sizes[cluster_of[i]] < 2]
    all_classes = classes + ([rest] if rest else [])
    tf = [sum((bags[i] for i in members), Counter()) for members in all_classes]
    f = sum(tf, Counter())
    a = sum(f.values()) / len(all_classes)
    out = []
    for c, members in enumerate(classes):
        total = sum(tf[c].values())
        held = Counter(t for i in members for t in bags[i])
        scored = [(-(tf[c][t] / total) * math.log(1 + a / f[t]), first[t], t)
                  for t in tf[c] if held[t] >= min(MIN_SUPPORT, len(members))]
        top = sorted(scored)[:KEYWORDS]
        degree = {m: 0.0 for m in members}
        for i in members:
            for j, s in zip(idx[i], sim[i], strict=True):
                if j >= 0 and j != i and j in degree and np.isfinite(s):
                    degree[i] += float(s)
                    degree[j] += float(s)
        central = min(members, key=lambda m: (-degree[m], m))
        out.append(([(t[1], t[0], -w) for w, _, t in top], central))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_direct_version(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 40))
    vocab = ["red", "green", "blue", "sky", "apple", "pear", "ring", "lord", "of", "the"]
    labels = [" ".join(rng.choice(vocab, rng.integers(1, 5))) for _ in range(n)]
    genres = ["|".join(rng.choice(["Drama", "War", "Comedy"], rng.integers(1, 3)))
              for _ in range(n)]
    cluster_of = rng.integers(0, max(2, n // 4), n).tolist()
    k = 4
    idx = rng.integers(-1, n, (n, k)).astype(np.int32)
    sim = rng.random((n, k)).astype(np.float32)
    view, names = names_of(labels, cluster_of, {"genres": genres}, (idx, sim),
                           stop={"of", "the"})
    expected = slow_names(labels, {"genres": genres}, cluster_of, idx, sim, {"of", "the"})
    assert len(names.keywords) == len(expected) == len(view)
    for c, (want, central) in enumerate(expected):
        got = names.keywords[c]
        assert [(k.text, k.column) for k in got] == [(t, col) for t, col, _ in want]
        assert [k.score for k in got] == pytest.approx([w for _, _, w in want])
        assert names.central[c] == central


def test_central_members_of_overlapping_communities():
    # entity 1 is in both communities; its degree counts only edges inside each one
    order = np.array([0, 1, 2, 1, 3, 4], np.int32)
    offsets = np.array([0, 3, 6])
    idx = np.array([[1, 2], [3, 0], [0, 1], [4, 1], [3, -1]], np.int32)
    sim = np.array([[0.5, 0.4], [0.9, 0.5], [0.4, 0.2], [0.7, 0.9], [0.7, 0]], np.float32)
    central = central_members(order, offsets, 2, 5, idx, sim)
    # community 0 {0,1,2}: 0 → .5+.4 +.5(1→0)+.4(2→0) = 1.8; 1 → .5+.5+.2 = 1.2; 2 → 1.0
    # community 1 {1,3,4}: 1 → .9 + .9 = 1.8; 3 → .7+.9 +.9 +.7 = 3.2; 4 → .7 + .7 = 1.4
    assert central.tolist() == [0, 3]


def test_an_empty_listing_names_nothing():
    bags = terms(pa.array(["aa", "bb"]), {}, set())
    view = group(np.array([0, 1]), 2)
    names = cluster_names(bags, view.order, view.offsets, np.array(["aa", "bb"], object),
                          *NO_GRAPH)
    assert names.labels == [] and names.keywords == [] and len(names.central) == 0


def test_the_demo_names_its_clusters(demo_dataset):
    """The Lord of the Rings cluster's label names the Rings; the Ghibli one, animation."""
    from engine.dataset import Dataset
    from tui.state import opening_threshold
    with Dataset.open(demo_dataset) as ds:
        view = ds.clusters(threshold=opening_threshold(ds))
        names = ds.cluster_names(view)
        lotr = ds.resolve("Lord of the Rings: The Two Towers")
        totoro = ds.resolve("My Neighbor Totoro")
        assert "rings" in names.labels[view.cluster_of(lotr)].split(", ")
        assert "Animation" in names.labels[view.cluster_of(totoro)].split(", ")


def test_label_words_read_in_chunks_are_the_same():
    labels = pa.array([f"word{i % 7} and more{i % 3}" if i % 5 else None for i in range(50)])
    whole = label_words(labels, {"and"})
    for chunk in (1, 3, 64):
        owner, words = label_words(labels, {"and"}, chunk=chunk)
        assert owner.tolist() == whole[0].tolist() and words.equals(whole[1])
