"""How the scatter tells groups apart (colour, ANSI colour or symbol) and the legend for it.

The clusters list and the legend show the same swatch for a group as the scatter draws.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.widgets.common import label_text
from tui.widgets.scatter import ANSI_PALETTE, GROUP_SYMBOLS, PALETTE

SYMBOL_GROUPS = 36  # groups told apart by symbol (0-9, a-z) when drawing symbols


def group_kind(marks: str, no_color: bool, color_system: str | None) -> str:
    """How the scatter tells groups apart: 'symbols', 'mono', '16' or 'colour'."""
    if marks == "groups":
        return "symbols"
    if no_color or color_system is None:
        return "mono"
    return "16" if color_system in ("standard", "windows") else "colour"


def group_limit(kind: str) -> int:
    """How many groups `kind` can tell apart; the rest are drawn as no group."""
    return {"symbols": SYMBOL_GROUPS, "mono": 0, "16": len(ANSI_PALETTE)}.get(kind, len(PALETTE))


def swatch(g: int, kind: str, palette: tuple[str, ...] | None = None) -> Text:
    """How group g looks in the scatter; `palette`: the colouring's own colours, if any."""
    if kind == "symbols":
        return Text(GROUP_SYMBOLS[g], style="bold")
    if kind == "16":
        palette = ANSI_PALETTE
    palette = palette or PALETTE
    return Text("■", style=palette[g % len(palette)]) if g < group_limit(kind) else Text(" ")


def swatches(group_mode: str, kind: str) -> list[Text]:
    """A swatch per group when the groups are clusters or communities (listed as clusters)."""
    if group_mode != "clusters" and not group_mode.startswith("community:"):
        return []
    return [swatch(g, kind) for g in range(group_limit(kind))]


class Legend(Static):
    """Under the scatter: what each swatch stands for (not shown for clusters, which the
    clusters pane lists with their swatches)."""

    def show(self, colouring, group_mode: str, kind: str) -> None:
        if colouring is None or group_mode == "clusters" or not colouring.legend:
            self.display = False
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        limit = group_limit(kind)
        for name, g in colouring.legend:
            if g >= limit:
                break
            text.append_text(swatch(g, kind, colouring.palette))
            text.append(" ")
            text.append_text(label_text(name, 20))
            text.append("  ")
        self.update(text)
        self.display = True
