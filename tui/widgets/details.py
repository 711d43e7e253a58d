"""The details pane: everything stored about the selection, plus its cluster."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.widgets.common import Pane, label_text

_SKIP = ("idx", "id", "label", "degree")


class DetailsPane(Pane):
    HELP_TITLE = "Details"
    HELP = ("The selected entity: its id, label, stored metadata, in-degree in the neighbour "
            "graph (how many entities list it as a neighbour) and the cluster it belongs to at "
            "the current threshold (of overlapping SLPA communities, each one with its "
            "strength). Arrows scroll when it is focused.")

    def __init__(self, **kwargs) -> None:
        super().__init__("Details", **kwargs)
        self._row: dict | None = None
        self._cluster: Text | None = None

    def compose(self):
        with VerticalScroll(id="details-scroll", can_focus=True):
            yield Static(Text("Nothing selected: move with the arrows, Enter selects, / "
                              "searches.", style="dim"), id="details-body")

    def show_message(self, text: str) -> None:
        self._row = None
        self.query_one("#details-body", Static).update(Text(text, style="dim"))

    def show_entity(self, row: dict, cluster: Text | None) -> None:
        self._row = row
        self._cluster = cluster
        self._refresh_body()

    def show_cluster(self, cluster: Text | None) -> None:
        self._cluster = cluster
        if self._row is not None:
            self._refresh_body()

    def _refresh_body(self) -> None:
        row = self._row or {}
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("label", label_text(row.get("label"), 200, style="bold"))
        grid.add_row("id", label_text(row.get("id"), 200))
        if "degree" in row:
            grid.add_row("degree", Text(str(row["degree"])))
        if self._cluster is not None:
            grid.add_row("communities" if "strength" in self._cluster.plain else "cluster",
                          self._cluster)
        for key, value in row.items():
            if key in _SKIP:
                continue
            grid.add_row(label_text(key, 24), label_text(_fmt(value), 200))
        self.query_one("#details-body", Static).update(grid)


def cluster_line(view, c: int | None, where: str, selection: int | None = None,
                 names: list[str] | None = None) -> Text:
    """The selection's cluster c in the listed `view`; `where`: "at 0.57", "in slpa";
    `names`: the listed clusters' labels, when known. In overlapping communities, every one
    the selection is in, with its strength."""
    def named(k: int) -> Text:
        if names is None or k >= len(names) or not names[k]:
            return Text("")
        return Text(" · ").append_text(label_text(names[k], 40, style="bold"))

    if view.overlapping and selection is not None:
        found = view.clusters_of(selection)
        if not found:
            return Text(f"none (in no listed community {where})", style="dim")
        text = Text(f"{len(found)} of {len(view)} {where}:")
        for k, s in found:
            text.append(f"\n{k}, {int(view.sizes[k])} members, strength {s:.2f}")
            text.append_text(named(k))
        return text
    if c is None:
        return Text(f"none (on its own {where})", style="dim")
    return Text(f"{c} of {len(view)}, {int(view.sizes[c])} members {where}").append_text(
        named(c))


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
