"""The explorer's own keys, bound on the app so that they work from every pane.

Zoom and pan are the scatter's (Scatter.VIEW_BINDINGS), bound here as well so that they work
when a list has the focus; the help screen and the footer read these from the running app.
"""

from __future__ import annotations

from textual.binding import Binding

from tui.edges import EDGE_LIMIT
from tui.widgets.scatter import Scatter

_threshold_keys = Binding.Group("threshold", compact=True)

APP_BINDINGS = [
    Binding("slash", "search", "Search", id="app.search",
            tooltip="fuzzy search over the labels"),
    Binding("question_mark", "help", "Help", id="app.help", tooltip="this screen"),
    Binding("left_square_bracket", "threshold(-1)", "Lower", id="app.threshold_down",
            group=_threshold_keys, tooltip="lower the threshold a fine step"),
    Binding("right_square_bracket", "threshold(1)", "Raise", id="app.threshold_up",
            group=_threshold_keys, tooltip="raise the threshold a fine step"),
    Binding("left_curly_bracket", "threshold(-1, True)", "Lower more", show=False,
            id="app.threshold_down_coarse", tooltip="lower the threshold a coarse step"),
    Binding("right_curly_bracket", "threshold(1, True)", "Raise more", show=False,
            id="app.threshold_up_coarse", tooltip="raise the threshold a coarse step"),
    Binding("c", "cycle_colour", "Colour", id="app.colour",
            tooltip="colour by the next of: clusters, communities, metadata, degree, trust, "
                    "agreement with another embedding"),
    Binding("H", "heatmap", "Heatmap", show=False, id="app.heatmap",
            tooltip="pairwise similarities of the chosen cluster, else the selection and its "
                    "neighbours, with their dendrogram"),
    Binding("p", "path", "Path", show=False, id="app.path",
            tooltip="then select another entity: the widest path from the selection to it "
                    "through the graph, drawn and listed (Esc clears it)"),
    Binding("D", "diagnostics", "Diagnostics", show=False, id="app.diagnostics",
            tooltip="the graph's hubs, bridges at the threshold and isolates"),
    Binding("P", "pairs", "Pairs", show=False, id="app.pairs",
            tooltip="the most similar pairs of the dataset (l inside: the least similar)"),
    Binding("e", "export", "Export", id="app.export",
            tooltip="write the chosen cluster, else the selection and its neighbours"),
    Binding("tab", "next_pane", "Next pane", show=False, priority=True,
            id="app.next_pane", tooltip="cycle scatter → neighbours → clusters → details"),
    Binding("shift+tab", "next_pane(-1)", "Previous pane", show=False, priority=True,
            id="app.previous_pane", tooltip="cycle the panes backwards"),
    Binding("backspace", "back", "Back", show=False, id="app.back",
            tooltip="back along the trail of selections"),
    Binding("g", "selection_cluster", "Selection's cluster", show=False,
            id="app.selection_cluster",
            tooltip="choose the selection's cluster; it follows as the threshold moves"),
    Binding("escape", "clear", "Let go", show=False, id="app.clear",
            tooltip="let go of the chosen cluster"),
    Binding("v", "cycle_layout", "Next layout", show=False, id="app.layout",
            tooltip="show the next stored layout (umap, mde-umap, …), then the next "
                    "embedding's"),
    Binding("V", "toggle_split", "Split view", show=False, id="app.split",
            tooltip="show another embedding of the file beside this one (A | B): one "
                    "selection, each side highlighting its own neighbours"),
    Binding("E", "toggle_edges", "Edges", show=False, id="app.edges",
            tooltip="draw every edge above the threshold among the points in view "
                    f"(up to {EDGE_LIMIT:,}; else the status line says they are hidden)"),
    Binding("n", "toggle_names", "Labels", show=False, id="app.names",
            tooltip="name the clusters on the map (c-TF-IDF keywords, else the most central "
                    "member)"),
    Binding("w", "cycle_emphasis", "Weight", show=False, id="app.emphasis",
            tooltip="weigh the density shading by log degree, then each numeric column, "
                    "then not at all, so hubs stand out"),
    Binding("m", "toggle_marks", "Braille or symbols", show=False, id="app.marks",
            tooltip="draw points as braille dots or as their group's symbol"),
    *Scatter.VIEW_BINDINGS,  # zoom and pan from any pane, not only the focused scatter
    Binding("q", "quit", "Quit", id="app.quit", tooltip="quit"),
]
