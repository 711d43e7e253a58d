"""The `embtui` command line. Textual is imported only when the explorer opens."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from engine import __version__
from engine.errors import EmbtuiError, InputError
from engine.export import FORMAT_NAMES
from engine.methods import GRAPHS, MEASURES, METRICS

COMMANDS = ("demo", "build", "info", "neighbors", "clusters", "search", "export")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line."""

    def error(self, message: str):
        raise InputError(f"{message} (see '{self.prog} --help')")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="embtui", description="A terminal explorer for embeddings and "
                "similarity graphs. 'embtui DATASET' opens the explorer; 'embtui' alone opens "
                "the MovieLens demo.")
    p.add_argument("--version", action="version", version=f"embtui {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    d = sub.add_parser("demo", help="build the MovieLens demo dataset")
    d.add_argument("-o", "--output", help="where to write it (default: the user cache "
                   "directory)")
    d.add_argument("--graph", default="association", choices=GRAPHS,
                   help="neighbours by co-occurrence (default) or by the concepts method")
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
                   "(the [text] extra); it is also the label unless --label says otherwise")
    c = b.add_argument_group("collections")
    c.add_argument("--collections", action="store_true",
                   help="input rows are (collection, entity[, weight])")
    c.add_argument("--collection", dest="collection_col", help="collection column "
                   "(default: 'collection')")
    c.add_argument("--entity", dest="entity_col", help="entity column (default: 'entity')")
    c.add_argument("--meta", dest="meta_cols", action="append", default=[],
                   help="entity metadata column to keep (repeatable)")
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
                   help="context graph: associated entities kept per entity (default 50)")
    c.add_argument("--in-degree-cap", type=int, default=1000,
                   help="context graph: an entity in more neighbourhoods than this is a hub "
                   "and proposes no candidate pairs (default 1000; 0: no cap)")
    c.add_argument("--context-threshold", type=float, default=0.1,
                   help="context graph: smallest context similarity kept (default 0.1)")
    b.add_argument("--weight", dest="weight_col", help="weight column")
    b.add_argument("-k", type=int, default=15, help="neighbours per entity (default 15)")
    b.add_argument("--layout", action="append", default=None,
                   help="umap (default) or mde-umap; repeat or comma-separate for several")
    b.add_argument("--communities", action="append", default=None,
                   help="label-propagation, slpa, kmeans (vectors); repeat or comma-separate "
                   "(default: label-propagation; with --graph context also slpa)")
    b.add_argument("--kmeans-k", type=int, default=None, metavar="K",
                   help="clusters for --communities kmeans (default: chosen by silhouette "
                   "over 2..20 on a sample)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--quiet", action="store_true", help="no progress output")

    i = sub.add_parser("info", help="what a dataset holds")
    i.add_argument("dataset")
    i.add_argument("--json", action="store_true")

    n = sub.add_parser("neighbors", help="nearest neighbours of an entity")
    n.add_argument("dataset")
    n.add_argument("query", help="an id, else the best fuzzy label match")
    n.add_argument("-k", type=int, default=None, help="how many (default: all stored)")
    n.add_argument("--json", action="store_true")

    cl = sub.add_parser("clusters", help="clusters at a similarity threshold, or stored "
                        "communities")
    cl.add_argument("dataset")
    g = cl.add_mutually_exclusive_group(required=True)
    g.add_argument("--threshold", type=float, help="components of the graph with "
                   "similarity ≥ T")
    g.add_argument("--method", help="stored communities: label-propagation, slpa, kmeans, …")
    cl.add_argument("--min-size", type=int, default=2)
    cl.add_argument("--json", action="store_true")

    s = sub.add_parser("search", help="fuzzy search over labels")
    s.add_argument("dataset")
    s.add_argument("text")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--json", action="store_true")

    e = sub.add_parser("export", help="write a table to CSV, TSV, parquet or JSONL")
    e.add_argument("dataset")
    e.add_argument("--table", required=True, choices=("entities", "knn", "layout", "clusters"))
    e.add_argument("--threshold", type=float, help="for --table clusters")
    e.add_argument("--method", help="for --table clusters: stored communities")
    e.add_argument("--layout", dest="layout_name", help="for --table layout")
    e.add_argument("--format", choices=FORMAT_NAMES,
                   help="default: from -o's suffix, else csv")
    e.add_argument("-o", "--output", help="file to write (default: standard output)")
    return p


# ---- output helpers ----------------------------------------------------------------------

_UNSAFE_JSON = re.compile("[\u0080-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _print_json(doc) -> None:
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    # Keep C1 controls and bidi overrides escaped so a terminal shows them as text.
    print(_UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def _plain(text, width: int | None = None) -> str:
    from tui.text import plain_label
    return plain_label("" if text is None else str(text), width)


def _note(text: str) -> None:
    print(f"embtui: {text}", file=sys.stderr)


# ---- commands ----------------------------------------------------------------------------

def _cmd_info(args) -> int:
    from engine.dataset import Dataset
    with Dataset.open(args.dataset) as ds:
        info = ds.info()
        if args.json:
            _print_json(info)
            return 0
        print(f"{_plain(ds.path)}: {info['entities']} entities ({info['kind']}"
              + (f", {info['dim']} dimensions" if info["dim"] else "") + ")")
        for name, step in info["steps"].items():
            params = ", ".join(f"{k}={v}" for k, v in step["params"].items() if v not in
                               (None, [], ""))
            print(f"  {name:<30} {step['seconds']:>8.2f} s  {params}")
        stats = dict(info["graph"])
        if stats:
            kind = stats.pop("graph", None)
            print(f"  {(kind or '') + ' graph':<30} " + " · ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in stats.items()))
        if ds.metadata_columns:
            print(f"  metadata: {', '.join(ds.metadata_columns)}")
    return 0


def _cmd_neighbors(args) -> int:
    from engine.dataset import Dataset
    if args.k is not None and args.k < 1:
        raise InputError(f"-k must be at least 1 (got {args.k})")
    with Dataset.open(args.dataset) as ds:
        result = ds.neighbors(args.query, args.k)
        if args.k is not None and args.k > result.stored_k:
            _note(f"only {result.stored_k} neighbours are stored (built with -k "
                  f"{result.stored_k}); rebuild with a larger -k for more")
        records = result.records(ds)
        q = result.query
        if args.json:
            _print_json({"query": {"id": ds.ids[q], "label": ds.labels[q]},
                         "neighbors": records})
        else:
            print(f"{_plain(ds.labels[q])}  [{_plain(ds.ids[q])}]")
            for r in records:
                print(f"{r['rank']:>4}  {r['similarity']:>7.3f}  {_plain(r['label'], 70)}  "
                      f"[{_plain(r['id'], 30)}]")
    return 0 if records else 1


def _cmd_clusters(args) -> int:
    from engine.dataset import Dataset
    if args.min_size < 1:
        raise InputError(f"--min-size must be at least 1 (got {args.min_size})")
    with Dataset.open(args.dataset) as ds:
        result = ds.clusters(args.threshold, args.method, min_size=args.min_size)
        sizes = result.sizes
        if args.json:
            ids, labels = ds.ids, ds.labels
            _print_json({
                "threshold": args.threshold, "method": args.method,
                "clusters": [{"cluster": c, "size": int(sizes[c]),
                              "members": [{"id": ids[m], "label": labels[m]}
                                          for m in result.members(c)]}
                             for c in range(len(result))],
                "singletons": result.singletons})
        else:
            what = (f"at threshold {args.threshold:g}" if args.threshold is not None
                    else f"by {args.method}")
            print(f"{len(result)} clusters of at least {args.min_size} {what}; "
                  f"{result.singletons} singletons")
            for c in range(len(result)):
                members = result.members(c)
                names = ", ".join(_plain(ds.labels[m], 40) for m in members[:8])
                more = f", … (+{len(members) - 8})" if len(members) > 8 else ""
                print(f"{c:>5}  {int(sizes[c]):>6}  {names}{more}")
    return 0 if len(result) else 1


def _cmd_search(args) -> int:
    from engine.dataset import Dataset
    if args.limit < 1:
        raise InputError(f"--limit must be at least 1 (got {args.limit})")
    with Dataset.open(args.dataset) as ds:
        matches = ds.search(args.text, limit=args.limit)
        if args.json:
            _print_json({"query": args.text, "matches": [
                {"id": m["id"], "label": m["label"], "score": m["score"]} for m in matches]})
        else:
            for m in matches:
                print(f"{m['score']:>8.1f}  {_plain(m['label'], 70)}  [{_plain(m['id'], 30)}]")
    return 0 if matches else 1


def _cmd_export(args) -> int:
    from engine.dataset import Dataset
    from engine.export import STDOUT_NAMES, check_target
    out = None if args.output in STDOUT_NAMES else args.output
    if out is not None:
        out = check_target(out, protect=args.dataset)
    # engine.export picks the format by the suffix and refuses parquet on standard output
    with Dataset.open(args.dataset) as ds:
        ds.export(args.table, out, args.format, threshold=args.threshold,
                  method=args.method, layout=args.layout_name)
    return 0


def _build_options(args):
    from engine.pipeline import BuildOptions
    layouts = tuple(x.strip() for v in (args.layout or ["umap"]) for x in v.split(",")
                    if x.strip())
    kind = "collections" if args.collections else "vectors"
    if args.communities:
        communities = tuple(x.strip() for v in args.communities for x in v.split(",")
                            if x.strip())
    elif args.graph == "context":
        communities = ("label-propagation", "slpa")
    else:
        communities = ("label-propagation",)
    return BuildOptions(
        kind=kind, id_col=args.id_col, label_col=args.label_col, vector_col=args.vector_col,
        weight_col=args.weight_col, metric=args.metric, table=args.table,
        labels_file=args.labels_file, text_col=args.text_col,
        collection_col=args.collection_col, entity_col=args.entity_col,
        meta_cols=tuple(args.meta_cols), measure=args.measure, min_count=args.min_count,
        graph=args.graph, min_weight=args.min_weight, corr_k=args.corr_k,
        in_degree_cap=args.in_degree_cap or None, context_threshold=args.context_threshold,
        k=args.k, layouts=layouts, seed=args.seed, communities=communities,
        kmeans_k=args.kmeans_k)


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
        print(f"{out} is up to date: nothing to recompute", file=sys.stderr)
    else:
        total = sum(report.seconds.values())
        print(f"wrote {out}: computed {', '.join(report.computed)} in {total:.1f} s"
              + (f"; reused {', '.join(report.cached)}" if report.cached else ""),
              file=sys.stderr)


def _cmd_demo(args) -> int:
    from sample_data.movielens import build_demo, default_demo_path, demo_options
    from tui.progress import build_progress
    out = args.output or default_demo_path(args.graph)
    with build_progress(quiet=args.quiet) as progress:
        report = build_demo(out, progress=progress, options=demo_options(graph=args.graph))
    _report(report, out, args.quiet)
    if not args.quiet:
        print(out)
    return 0


def _cmd_explore(path: str | None) -> int:
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
    Dataset.open(path).close()  # bad files fail here, in one line, before the screen opens
    from tui.app import run
    return run(path)  # an error in the app is raised here, reported by main in one line


_COMMANDS = {"info": _cmd_info, "neighbors": _cmd_neighbors, "clusters": _cmd_clusters,
             "search": _cmd_search, "export": _cmd_export, "build": _cmd_build,
             "demo": _cmd_demo}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv:
            return _finish(_cmd_explore(None))
        if argv[0] not in COMMANDS and not argv[0].startswith("-"):
            if len(argv) > 1:
                raise InputError(f"unknown command '{argv[0]}' (commands: "
                                 f"{', '.join(COMMANDS)}; or 'embtui DATASET')")
            return _finish(_cmd_explore(argv[0]))
        args = _parser().parse_args(argv)
        if args.command is None:
            return _finish(_cmd_explore(None))
        return _finish(_COMMANDS[args.command](args))
    except EmbtuiError as err:
        print(f"embtui: {_plain(err)}", file=sys.stderr)
        return _finish(err.exit_code)
    except KeyboardInterrupt:
        print("embtui: interrupted", file=sys.stderr)
        return _finish(130)
    except BrokenPipeError:
        return _closed_pipe()
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
    return code


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
