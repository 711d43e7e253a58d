"""The clusters pane: the threshold control, a histogram of kNN similarities, the clusters at
that threshold (largest first) and, once one is chosen, its members."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from tui.state import ThresholdScale, slider
from tui.widgets.common import Pane, label_text
from tui.widgets.plot import VimList

if TYPE_CHECKING:
    from engine.clusters import Clusters

LIST_LIMIT = 300  # clusters listed; the rest are summarised
MEMBER_LIMIT = 500


class SimilarityHistogram(PlotextPlot):
    """Counts of kNN similarities, with the threshold marked."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._data: tuple[np.ndarray, np.ndarray] | None = None
        self._threshold: float | None = None

    def set_data(self, counts: np.ndarray, edges: np.ndarray) -> None:
        self._data = (counts, edges)
        self._replot()

    def set_threshold(self, t: float | None) -> None:
        self._threshold = t
        self._replot()

    def _replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if self._data is None:
            return
        counts, edges = self._data
        centres = ((edges[:-1] + edges[1:]) / 2).tolist()
        plt.bar(centres, counts.tolist(), width=1.0, marker="▌", color="cyan")
        if self._threshold is not None:
            plt.vline(float(self._threshold), color="red")
        plt.xticks([float(edges[0]), float(edges[-1])],
                   [f"{edges[0]:.3g}", f"{edges[-1]:.3g}"])
        plt.yticks([])
        plt.frame(False)
        self.refresh()


class ThresholdBar(Widget):
    """`threshold 0.620 ━━━━●─────`: the value and where it sits in the range, full width."""

    DEFAULT_CSS = """
    ThresholdBar {
        height: 1;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._state: tuple[float, ThresholdScale, bool] | None = None
        self._message = "loading the neighbour graph…"

    def show(self, t: float, scale: ThresholdScale, pending: bool) -> None:
        self._state = (t, scale, pending)
        self.refresh()

    def show_message(self, text: str) -> None:
        self._state = None
        self._message = text
        self.refresh()

    def render(self) -> Text:
        if self._state is None:
            return Text(self._message, style="dim", no_wrap=True, overflow="ellipsis")
        t, scale, pending = self._state
        value = scale.format(t)
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("t ", style="dim")
        line.append(value, style="bold")
        line.append(" ")
        width = max(self.size.width - len(value) - 5, 3)
        line.append(slider(scale.fraction(t), width), style="cyan")
        line.append(" …" if pending else "  ", style="dim")
        return line


class ClustersPane(Pane):
    HELP_TITLE = "Clusters"
    HELP = ("Components of the neighbour graph keeping only edges with similarity at or above "
            "the threshold, largest first, with size and the best-connected members. "
            "[ and ] move the threshold a fine step, { and } a coarse one, from any pane; the "
            "histogram shows where it cuts the kNN similarities. Enter on a cluster highlights "
            "it in the scatter and lists its members; a chosen cluster follows the selection "
            "(or its first member) as the threshold moves. Enter on a member selects it; "
            "Escape goes back to the list.")

    BINDINGS = [Binding("escape", "back", "Back to clusters", id="clusters.back")]

    class Chosen(Message):
        """Cluster number `cluster` of `view`, the listing it was chosen in: a number means
        nothing in another listing, so the app drops it once the listing has changed."""

        def __init__(self, cluster: int, view=None) -> None:
            super().__init__()
            self.cluster = cluster
            self.view = view

    class MemberChosen(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class Back(Message):
        pass

    def __init__(self, **kwargs) -> None:
        super().__init__("Clusters", **kwargs)
        self._mode = "clusters"
        self._rows: list[int] = []  # cluster numbers, or entity indices in members mode
        self._view = None  # the Clusters the rows number

    def compose(self):
        yield ThresholdBar(id="cl-threshold")
        yield Static("", id="cl-summary")
        yield SimilarityHistogram(id="cl-hist")
        yield VimList(id="cl-list")

    # ---- state in ----------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.query_one(ThresholdBar).show_message(text)

    def show_threshold(self, t: float, scale: ThresholdScale, pending: bool = False) -> None:
        self.query_one(ThresholdBar).show(t, scale, pending)
        self.query_one(SimilarityHistogram).set_threshold(t)

    def show_histogram(self, counts: np.ndarray, edges: np.ndarray) -> None:
        self.query_one(SimilarityHistogram).set_data(counts, edges)

    def show_clusters(self, view: Clusters, labels: np.ndarray, examples: list,
                      selected_cluster: int | None, swatches: list[Text],
                      names: list[str] | None = None) -> None:
        """The listing at a threshold; the selection's cluster is marked and highlighted.

        swatches[c] is how cluster c looks in the scatter (a coloured block or a symbol);
        names[c] its label (engine.keywords), shown before a few of its members."""
        self._mode = "clusters"
        self._view = view
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(f"{len(view)} clusters", style="bold")
        summary.append(f" · {view.singletons} alone", style="dim")
        self.query_one("#cl-summary", Static).update(summary)
        sizes = view.sizes
        options = []
        shown = min(len(view), LIST_LIMIT)
        cw = len(str(max(shown - 1, 0)))
        sw = len(str(int(sizes[0]))) if len(sizes) else 1
        for c in range(shown):
            row = Text(no_wrap=True, overflow="ellipsis")
            mark = "▶" if c == selected_cluster else " "
            row.append(mark, style="bold")
            row.append_text(swatches[c] if c < len(swatches) else Text(" "))
            row.append(f" {c:>{cw}} ", style="dim")
            row.append(f"{int(sizes[c]):>{sw}} ")
            if names is not None and c < len(names) and names[c]:
                row.append_text(label_text(names[c], 30, style="bold"))
                row.append(" · ", style="dim")
            shown_members = examples[c] if c < len(examples) else []
            for j, i in enumerate(shown_members):
                if j:
                    row.append(", ", style="dim")
                row.append_text(label_text(labels[i], 30))
            if sizes[c] > len(shown_members):
                row.append(", …", style="dim")
            options.append(Option(row))
        if len(view) > shown:
            options.append(Option(Text(f"… {len(view) - shown} smaller clusters", style="dim"),
                                  disabled=True))
        if not options:
            options.append(Option(Text("no clusters of two or more at this threshold",
                                       style="dim"), disabled=True))
        self._rows = list(range(shown))
        ol = self.query_one("#cl-list", OptionList)
        keep = ol.highlighted
        ol.set_options(options)
        if selected_cluster is not None and selected_cluster < shown:
            ol.highlighted = selected_cluster
        elif shown:
            ol.highlighted = min(keep or 0, shown - 1)

    def show_members(self, view, c: int | None, anchor: int, members: np.ndarray,
                     labels: np.ndarray, selection: int | None, where: str) -> None:
        """Members of the listed cluster c (already in display order, maybe not all), chosen
        through `anchor`; c None: the anchor is on its own. `where`: "at 0.57", "in slpa"."""
        self._mode = "members"
        size = 1 if c is None else int(view.sizes[c])
        head = Text(no_wrap=True, overflow="ellipsis")
        if c is None:
            head.append_text(label_text(labels[anchor], 30, style="bold"))
            head.append(f" is on its own {where}", style="dim")
        else:
            head.append(f"cluster {c}", style="bold")
            head.append(f" · {size} {where}", style="dim")
        head.append(" · Esc: all", style="dim")
        self.query_one("#cl-summary", Static).update(head)
        shown = members[:MEMBER_LIMIT].tolist()
        shared = _shared_strengths(view, c, shown)
        options = []
        for i in shown:
            row = Text(no_wrap=True, overflow="ellipsis")
            row.append("▶ " if i == selection else "  ", style="bold")
            if i in shared:  # in several communities: marked, with its strength in this one
                row.append(f"* {shared[i]:.2f} ", style="dim")
            row.append_text(label_text(labels[i], 120))
            options.append(Option(row))
        if size > len(shown):
            options.append(Option(Text(f"… {size - len(shown)} more", style="dim"),
                                  disabled=True))
        self._rows = shown
        ol = self.query_one("#cl-list", OptionList)
        ol.set_options(options)
        if shown:
            ol.highlighted = shown.index(selection) if selection in shown else 0

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def highlighted_cluster(self) -> int | None:
        h = self.query_one("#cl-list", OptionList).highlighted
        if self._mode != "clusters" or h is None or h >= len(self._rows):
            return None
        return self._rows[h]

    # ---- messages out --------------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        i = event.option_index
        if i >= len(self._rows):
            return
        if self._mode == "clusters":
            self.post_message(self.Chosen(self._rows[i], self._view))
        else:
            self.post_message(self.MemberChosen(self._rows[i]))

    def action_back(self) -> None:
        if self._mode == "members":
            self.post_message(self.Back())


def _shared_strengths(view, c: int | None, shown: list[int]) -> dict[int, float]:
    """Of overlapping communities, the shown members of c that are in several, with their
    strength in c."""
    if c is None or not view.overlapping:
        return {}
    members, strengths = view.members(c), view.strengths(c)
    idx = np.array(shown, dtype=np.int64)
    several = idx[view.count[idx] > 1]
    pos = np.searchsorted(members, several)
    return dict(zip(several.tolist(), strengths[pos].tolist(), strict=True))
