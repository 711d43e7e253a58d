"""The neighbours pane: the selection's top-k with similarity bars; Enter walks the graph."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.state import bar
from tui.widgets.common import Pane, label_text
from tui.widgets.plot import VimList

BAR = 5
FAR_MARK = "⇢"  # a true neighbour the map puts far away


class NeighboursPane(Pane):
    HELP_TITLE = "Neighbours"
    HELP = ("The nearest neighbours of the selection, best first, with their similarity and a "
            "bar scaled to the graph's range of similarities. Up/Down move, Enter makes the "
            "highlighted neighbour the selection (walking the graph), Backspace goes back "
            "along the trail shown at the top after the selection (‹ most recent first). "
            f"{FAR_MARK} marks a neighbour the map puts far away: more than twice as far as the "
            "selection's k-th nearest point on the map.")

    class Chosen(Message):
        """A neighbour was chosen to become the selection."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, **kwargs) -> None:
        super().__init__("Neighbours", **kwargs)
        self._indices: list[int] = []

    def compose(self):
        yield Static(Text("Select an entity to see its neighbours.", style="dim"),
                     id="nb-head")
        yield VimList(id="nb-list")

    def show_message(self, text: str) -> None:
        self._indices = []
        self.query_one("#nb-head", Static).update(Text(text, style="dim"))
        self.query_one("#nb-list", OptionList).clear_options()

    def show_entity(self, i: int, trail: list[int], graph, labels: np.ndarray,
                    far: np.ndarray | None = None) -> None:
        """Entity i's stored neighbours in `graph` (a messages.Graph, None while it loads);
        trail: earlier selections, oldest first; far: which of them sit far away on the map
        (engine.trust.far_on_map; None: not known yet)."""
        if graph is None:
            self.show_message("loading the neighbour graph…")
            return
        idx, sim = graph.idx[i], graph.sim[i]
        keep = idx >= 0
        self.show(labels[i], [labels[t] for t in trail], idx[keep], sim[keep], labels,
                  graph.sim_lo, graph.sim_hi, far)

    def show(self, query_label, trail: list, idx: np.ndarray, sim: np.ndarray,
             labels: np.ndarray, lo: float, hi: float, far: np.ndarray | None = None) -> None:
        """Neighbours idx/sim of the entity labelled query_label; trail = earlier labels;
        a neighbour far away on the map is marked ⇢."""
        # the selection first, then the trail back from it (most recent first), so a narrow
        # pane cuts the oldest steps, never the selection
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append_text(label_text(query_label, 60, style="bold"))
        for t in reversed(trail[-3:]):
            head.append(" ‹ ", style="dim")
            head.append_text(label_text(t, 16, style="dim"))
        if len(trail) > 3:
            head.append(" ‹ …", style="dim")
        self.query_one("#nb-head", Static).update(head)
        span = hi - lo if hi > lo else 1.0
        decimals = 3 if span < 0.2 else 2
        options = []
        for rank, (i, s) in enumerate(zip(idx.tolist(), sim.tolist(), strict=True), start=1):
            row = Text(no_wrap=True, overflow="ellipsis")
            row.append(f"{rank:>2} ", style="dim")
            row.append(f"{s:.{decimals}f} ")
            row.append(bar((s - lo) / span, BAR), style="green")
            row.append(f" {FAR_MARK} " if far is not None and far[rank - 1] else "   ",
                       style="bold #ff8c42")
            row.append_text(label_text(labels[i], 120))
            options.append(Option(row))
        self._list(idx.tolist(), options)
        if not options:
            self.query_one("#nb-head", Static).update(
                head.append("  (no neighbours stored)", style="dim"))
        elif far is not None and far.any():
            self.query_one("#nb-head", Static).update(
                head.append(f"  {FAR_MARK} {int(far.sum())} far on the map", style="dim"))

    def show_pair(self, i: int, trail: list[int], idx_a: np.ndarray, idx_b: np.ndarray,
                  labels: np.ndarray, name_a: str, name_b: str) -> None:
        """The split view's lists: entity i's neighbours under A and under B side by side,
        rank by rank, each marked = when the other embedding lists it too; Enter takes A's."""
        row_a, row_b = idx_a[i], idx_b[i] if idx_b.shape[1] else np.zeros(0, np.int32)
        a, b = row_a[row_a >= 0], row_b[row_b >= 0]
        shared = np.intersect1d(a, b)
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append_text(label_text(labels[i], 40, style="bold"))
        head.append(f"  {len(shared)} shared = ", style="dim")
        head.append_text(label_text(name_a, 16, style="dim"))
        head.append(" | ", style="dim")
        head.append_text(label_text(name_b, 16, style="dim"))
        for t in reversed(trail[-2:]):
            head.append(" ‹ ", style="dim")
            head.append_text(label_text(labels[t], 12, style="dim"))
        self.query_one("#nb-head", Static).update(head)
        width = max(8, (self.size.width - 9) // 2) if self.size.width else 24
        options = []
        for rank in range(max(len(a), len(b))):
            row = Text(no_wrap=True, overflow="ellipsis")
            row.append(f"{rank + 1:>2} ", style="dim")
            for side, ids in enumerate((a, b)):
                if side:
                    row.append(" │ ", style="dim")
                if rank < len(ids):
                    j = int(ids[rank])
                    both = j in shared
                    row.append("=" if both else " ", style="bold green")
                    cell = label_text(labels[j], width - 1, style="bold" if both else "")
                else:
                    cell = Text("")
                cell.truncate(width - 1 if rank < len(ids) else width, pad=side == 0)
                row.append_text(cell)
            options.append(Option(row))
        self._list(a.tolist(), options)

    def show_path(self, idx: np.ndarray, sim: np.ndarray, labels: np.ndarray) -> None:
        """A path from its first entity to its last: each step's similarity and entity, the
        weakest step marked; Enter selects a step's entity."""
        weakest = int(np.argmin(sim)) if len(sim) else -1
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append("path ", style="dim")
        head.append_text(label_text(labels[idx[0]], 24, style="bold"))
        head.append(" → ", style="dim")
        head.append_text(label_text(labels[idx[-1]], 24, style="bold"))
        head.append(f"  {len(sim)} steps" + (f", weakest {sim[weakest]:.3f}" if len(sim)
                                                else ""), style="dim")
        self.query_one("#nb-head", Static).update(head)
        options = []
        for n, i in enumerate(idx.tolist()):
            row = Text(no_wrap=True, overflow="ellipsis")
            row.append(f"{n:>2} ", style="dim")
            if n == 0:
                row.append(" " * 6)
            else:
                row.append(f"{sim[n - 1]:.3f} ", style="bold #ff8c42" if n - 1 == weakest
                           else "")
            row.append(" ")
            row.append_text(label_text(labels[i], 120))
            options.append(Option(row))
        self._list(idx.tolist(), options)

    def _list(self, indices: list[int], options: list[Option]) -> None:
        """The rows shown and the entity each one stands for (Enter selects it)."""
        self._indices = indices
        ol = self.query_one("#nb-list", OptionList)
        ol.set_options(options)
        if options:
            ol.highlighted = 0

    @property
    def highlighted_index(self) -> int | None:
        h = self.query_one("#nb-list", OptionList).highlighted
        return self._indices[h] if h is not None and h < len(self._indices) else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self._indices):
            self.post_message(self.Chosen(self._indices[event.option_index]))
