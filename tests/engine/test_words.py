"""Text as collections: the tokenizer, windows of W words, stop words, and the words demo."""

import pandas as pd
import pytest

from engine.cooccur import cooccurrence
from engine.dataset import Dataset
from engine.errors import InputError
from engine.ingest import read_windows
from engine.pipeline import BuildOptions, build
from engine.steps import plan
from engine.words import read_stop_words, tokenize, windows


def test_tokenizer_rules():
    assert tokenize("The CAT’s hat, don't—stop!") == ["the", "cat's", "hat", "don't", "stop"]
    assert tokenize("@realDonaldTrump #MAGA 2016 e-mail") == [
        "realdonaldtrump", "maga", "2016", "e", "mail"]
    assert tokenize("see https://t.co/AbC and www.x.com/y &amp; Café 'quoted'") == [
        "see", "and", "café", "quoted"]
    assert tokenize(None) == [] and tokenize("") == [] and tokenize("-- !!") == []


def listed(texts, w, stop=frozenset()):
    """Each window as (text, start, sorted words)."""
    got = windows(texts, w, stop)
    vocab = got.vocabulary.to_pylist()
    out = {}
    for c, e in zip(got.coll, got.ent, strict=True):
        out.setdefault(int(c), set()).add(vocab[e])
    return [(int(got.text[c]), int(got.start[c]), sorted(ws)) for c, ws in sorted(out.items())]


def test_windows_by_hand():
    texts = ["a b c d", "x", None, "p q", "k k k"]
    assert listed(texts, 3) == [
        (0, 0, ["a", "b", "c"]), (0, 1, ["b", "c", "d"]),
        (1, 0, ["x"]),  # shorter than W: one collection of the whole text
        (3, 0, ["p", "q"]),
        (4, 0, ["k"]),  # a word twice in a window is one membership
    ]
    assert listed(["a b c"], 2) == [(0, 0, ["a", "b"]), (0, 1, ["b", "c"])]


def test_stop_words_go_before_windowing(tmp_path):
    path = tmp_path / "stop.txt"
    path.write_text("The\nof\n\nDon’t\n")
    stop = read_stop_words(str(path))
    assert stop == {"the", "of", "don't"}
    # "the" and "of" gone, so "king" and "france" are one window apart
    assert listed(["the king of france", "don't go"], 2, stop) == [
        (0, 0, ["france", "king"]), (1, 0, ["go"])]


def test_bigram_counts():
    w = windows(["new york is new york", "new jersey"], 2)
    vocab = w.vocabulary.to_pylist()
    C = cooccurrence(w.coll, w.ent, len(vocab), len(w.text)).toarray()
    i = {word: vocab.index(word) for word in vocab}
    # windows: new york | york is | is new | new york | new jersey
    assert C[i["new"], i["york"]] == 2 and C[i["york"], i["is"]] == 1
    assert C[i["new"], i["jersey"]] == 1 and C[i["york"], i["jersey"]] == 0
    assert C[i["new"], i["new"]] == 4  # windows holding "new"


def test_read_windows_entities_and_collections():
    frame = pd.DataFrame({"text": ["Big cat. Big dog!", "cat dog", "dog", "dog"],
                          "n": [1, 2, 3, 4]})
    got = read_windows(frame, text_col="text", windows=2)
    # windows: big cat | cat big | big dog ; cat dog ; dog ; dog
    assert got.kind == "collections" and got.n_collections == 6
    ents = got.entities.to_pydict()
    assert ents["id"] == ents["label"] == ["big", "cat", "dog"]
    assert ents["weight"] == [3.0, 3.0, 4.0]  # windows holding each word
    names = set(got.memberships.column("collection").to_pylist())
    assert names == {"0:0", "0:1", "0:2", "1:0", "2:0", "3:0"}
    kept = read_windows(frame, text_col="text", windows=2, min_count=4)
    assert kept.entities.column("id").to_pylist() == ["dog"] and kept.n_collections == 4


@pytest.mark.parametrize("frame, kwargs, message", [
    (pd.DataFrame({"text": ["a b"]}), {"windows": 1}, "--windows must be at least 2"),
    (pd.DataFrame({"text": ["a b"]}), {"stop_words": "/nonexistent/stop.txt"},
     "no such file"),
    (pd.DataFrame({"body": ["a b"]}), {}, "no text column 'text'"),
    (pd.DataFrame({"text": ["!!", None]}), {}, "no word in column 'text'"),
    (pd.DataFrame({"text": ["a b"]}), {"min_count": 5}, "lower --min-count"),
])
def test_bad_inputs(frame, kwargs, message):
    with pytest.raises(InputError, match=message):
        read_windows(frame, **{"text_col": "text", "windows": 2, **kwargs})


@pytest.mark.parametrize("changes, message", [
    ({"text_col": None}, "--windows makes collections of a text column's words"),
    ({"windows": 1}, "--windows must be at least 2"),
    ({"stop_words": "/nonexistent/stop.txt"}, "no such file"),
    ({"entity_col": "e"}, "--entity does not go with --windows"),
    ({"weight_col": "w", "label_col": "l"}, "--weight, --label do not go with --windows"),
    ({"pair_attribute": "t", "pair_scale": 1.0}, "applies to --collections inputs"),
    ({"windows": None, "stop_words": "x"}, "--stop-words applies to --windows"),
])
def test_wrong_combinations_are_refused(tmp_path, changes, message):
    out = tmp_path / "out.duckdb"
    opt = BuildOptions(**{"kind": "collections", "text_col": "text", "windows": 2,
                          "layouts": (), **changes})
    with pytest.raises(InputError, match=message):
        build(pd.DataFrame({"text": ["a b"]}), out, opt, source_key="f")
    assert not out.exists()


def test_key_holds_windows_stop_words_content_and_tokenizer(tmp_path):
    stop = tmp_path / "stop.txt"
    stop.write_text("the\n")
    opt = BuildOptions(kind="collections", text_col="text", windows=2, stop_words=str(stop))
    first = plan(opt, "src", 10)["ingest"]
    assert first.params["windows"] == 2 and first.params["tokenizer"] == 1
    stop.write_text("the\nof\n")  # same path, new content: a new key
    assert plan(opt, "src", 10)["ingest"].key != first.key
    wider = BuildOptions(**{**opt.__dict__, "windows": 3})
    assert plan(wider, "src", 10)["ingest"].key != plan(opt, "src", 10)["ingest"].key


def test_words_demo_on_a_slice_of_the_tweets(tmp_path):
    from sample_data.words import build_words_demo, stop_words_path, words_options
    out = tmp_path / "words.duckdb"
    report = build_words_demo(str(out), options=words_options(layouts=(), min_count=5),
                              limit=3000)
    assert "ingest" in report.computed
    stop = read_stop_words(stop_words_path())
    assert {"the", "and", "don't"} <= stop
    with Dataset.open(out) as ds:
        words = set(ds.labels)
        assert 1000 < ds.n < 5000 and not words & stop
        assert (ds.ids == ds.labels).all()
        great = set(ds.labels[ds.neighbors("great", 8).idx])
        assert len(great & {"terrific", "fantastic", "amazing", "tremendous", "wonderful"}) >= 2
        days = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
        assert set(ds.labels[ds.neighbors("monday", 8).idx]) & days
        assert {"label-propagation", "slpa"} <= set(ds.community_methods)
