"""One-line bars: the status under the scatter and, in compact mode, the side panes' tabs."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.widgets.common import label_text


class PaneTabs(Static):
    """In compact mode: which side pane is showing, and that Tab cycles them."""

    def show(self, names, active: str) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for name in names:
            style = "bold reverse" if name == active else "dim"
            text.append(f" {name.capitalize()} ", style=style)
        text.append(" Tab", style="dim")
        self.update(text)


class StatusLine(Static):
    """Under the scatter: the view's status and the colouring."""

    def show_view(self, status, colour_title: str, edges_note: str | None = None,
                  trust: str | None = None, weight: str | None = None) -> None:
        """`status` is the scatter's ScatterStatus; `edges_note` how many edges are drawn,
        or that they are hidden; `trust` how far the layout holds ("trust 26% · T 0.86");
        `weight` what the shading is weighted by."""
        text = Text(no_wrap=True, overflow="ellipsis")
        hidden = bool(edges_note) and "hidden" in edges_note
        if hidden:  # a warning: before anything a narrow screen would cut
            text.append(edges_note, style="bold")
            text.append(" · ", style="dim")
        # the label under the cursor first: on a narrow screen the rest is what gets cut
        if status.label is not None:
            text.append_text(label_text(status.label, 40, style="italic"))
            text.append(" · ", style="dim")
        text.append(f"{status.zoom:.3g}×", style="bold")
        text.append(f" {status.in_view}/{status.total}", style="")
        text.append(" in view · ", style="dim")
        if edges_note and not hidden:
            text.append(edges_note)
            text.append(" · ", style="dim")
        if trust:
            text.append(trust)
            text.append(" · ", style="dim")
        text.append(f"colour: {colour_title}", style="dim")
        if weight:
            text.append(f" · weight: {weight}", style="dim")
        self.update(text)
