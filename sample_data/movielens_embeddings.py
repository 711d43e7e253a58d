"""More embeddings of the demo's films, to compare with its co-occurrence graph, all offline.

- `svd`: a truncated SVD of the user × film matrix of likes (rating ≥ 4), 32 factors; a
  film's vector is its right singular vector scaled by the singular values (V Σ), as latent
  semantic analysis places its terms; compared by cosine.
- `genres`: tf-idf of the film's genres, each genre a term held once: idf = ln((1 + N) /
  (1 + df)) + 1 (scikit-learn's smoothed idf), rows L2-normalised. Films listed without a
  genre have no vector and are left out of it.
- `titles` (with the [text] extra): the packaged MiniLM model on the titles.

Each is built with the same k, layouts and communities as the first embedding, matched to
the demo's films by id.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.pipeline import BuildOptions, BuildReport, Progress, build

SVD_FACTORS = 32
NO_GENRE = "(no genres listed)"
EMBEDDINGS = ("svd", "genres", "titles")


def kept_likes(frame):
    """The likes of the films the demo keeps (liked by at least MIN_COUNT users)."""
    from sample_data.movielens import MIN_COUNT
    counts = frame.groupby("movie")["user"].nunique()
    return frame[frame["movie"].isin(counts.index[counts >= MIN_COUNT])]


def films(frame):
    """One row per kept film: its id (as the demo's entities spell it), title and genres."""
    likes = kept_likes(frame)
    first = likes.drop_duplicates("movie").sort_values("movie")
    return first["movie"].astype(str).to_numpy(), first["title"].to_numpy(), \
        first["genres"].fillna("").astype(str).to_numpy()


def svd_vectors(frame, factors: int = SVD_FACTORS):
    """(film ids, V Σ) of the binary user × film matrix of likes."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds
    likes = kept_likes(frame).drop_duplicates(["user", "movie"])
    film_ids, film_col = np.unique(likes["movie"].to_numpy(), return_inverse=True)
    _, user_row = np.unique(likes["user"].to_numpy(), return_inverse=True)
    M = sp.csr_matrix((np.ones(len(likes)), (user_row, film_col)),
                      shape=(user_row.max() + 1, len(film_ids)))
    _, s, vt = svds(M, k=factors, random_state=0)
    order = np.argsort(-s)  # svds returns ascending singular values
    vectors = (vt[order].T * s[order]).astype(np.float32)
    return film_ids.astype(str), vectors


def genre_vectors(frame):
    """(film ids, tf-idf rows) over the genres; films without one left out."""
    ids, _, genres = films(frame)
    terms = [sorted({g for g in text.split("|") if g and g != NO_GENRE}) for text in genres]
    keep = np.array([bool(t) for t in terms])
    vocab = sorted({g for t in terms for g in t})
    col = {g: j for j, g in enumerate(vocab)}
    X = np.zeros((len(ids), len(vocab)), dtype=np.float64)
    for i, t in enumerate(terms):  # ~1,300 films × a handful of genres each
        X[i, [col[g] for g in t]] = 1.0
    X = X[keep]
    n, df = len(X), X.sum(axis=0)
    X *= np.log((1 + n) / (1 + df)) + 1
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return ids[keep], X.astype(np.float32)


def _has_text() -> bool:
    import importlib.util
    return importlib.util.find_spec("sentence_transformers") is not None


def build_demo_embeddings(out: str, base: BuildOptions, *, progress: Progress | None = None,
                          which=None) -> list[tuple[str, BuildReport]]:
    """Add the other embeddings to a built demo file (titles only with the [text] extra)."""
    import pyarrow as pa

    from sample_data.movielens import ratings_frame, source_key
    frame = ratings_frame()
    which = which or [name for name in EMBEDDINGS if name != "titles" or _has_text()]
    common = {"k": base.k, "layouts": base.layouts, "seed": base.seed,
              "communities": ("label-propagation",)}
    reports = []
    for name in which:
        if name == "titles":
            ids, titles, _ = films(frame)
            table = pa.table({"id": ids, "title": titles})
            opt = BuildOptions(id_col="id", text_col="title", **common)
        else:
            ids, X = svd_vectors(frame) if name == "svd" else genre_vectors(frame)
            table = pa.table({"id": ids, "vec": pa.array(list(X), pa.list_(pa.float32()))})
            opt = BuildOptions(id_col="id", vector_col="vec", **common)
        key = f"{source_key()}:{name}:{SVD_FACTORS if name == 'svd' else 1}"
        reports.append((name, build(table, out, replace(opt, embedding=name), source_key=key,
                                    source_name=f"MovieLens {name}", progress=progress)))
    return reports
