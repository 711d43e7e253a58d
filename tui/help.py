"""`?`: every key, grouped by where it works, with the focused pane's help first.

The key tables are built from the bindings themselves (the app's are read from the running
app), so they cannot drift from the code; keys that belong to Textual's own list widgets
(Up/Down/Enter) are added by hand.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.screens import ExportScreen
from tui.widgets.clusters import ClustersPane
from tui.widgets.details import DetailsPane
from tui.widgets.diagnostics import DiagnosticsScreen
from tui.widgets.heatmap import HeatmapScreen, HeatmapView
from tui.widgets.neighbours import NeighboursPane
from tui.widgets.pairs import PairsScreen
from tui.widgets.plot import ExplorerScatter
from tui.widgets.search import SearchScreen

LIST_KEYS = [("↑ ↓ j k", "move in the list"), ("Home End PgUp PgDn", "jump in the list")]


def _keys(bindings, skip=()) -> list[tuple[str, str]]:
    """(keys, description) per action, keys of the same action joined."""
    rows: dict[str, list] = {}
    for b in Binding.make_bindings(bindings):
        if b.action.split("(")[0] in skip or not b.description:
            continue
        text = b.tooltip or b.description
        rows.setdefault(b.action + text, [text, []])[1].append(_display(b.key))
    return [(" ".join(dict.fromkeys(keys)), desc) for desc, keys in rows.values()]


_NAMES = {"left_square_bracket": "[", "right_square_bracket": "]",
          "left_curly_bracket": "{", "right_curly_bracket": "}", "question_mark": "?",
          "slash": "/", "plus": "+", "equals_sign": "=", "minus": "-", "escape": "Esc",
          "enter": "Enter", "backspace": "Backspace", "tab": "Tab", "shift+tab": "Shift+Tab",
          "left": "←", "right": "→", "up": "↑", "down": "↓", "ctrl+p": "Ctrl+P",
          "shift+left": "Shift+←", "shift+right": "Shift+→", "shift+up": "Shift+↑",
          "shift+down": "Shift+↓"}


def _display(key: str) -> str:
    return _NAMES.get(key, key)


def sections(app_bindings) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(title, help text, keys) for every place keys work; `app_bindings` are the app's."""
    # zoom and pan (the scatter's own keys) are bound on the app too, so they work from every
    # pane: they are listed once, under Everywhere, with the app's
    scatter_keys = _keys(ExplorerScatter.BINDINGS)
    scatter_keys.append(("click, wheel", "select the nearest point, zoom (when the terminal "
                                         "sends mouse events)"))
    app_keys = _keys(app_bindings)
    app_keys.append(("Ctrl+P", "command palette: colour by…, go to cluster…, export…, "
                               "layout…"))
    return [
        ("Everywhere", "These keys work from any pane.", app_keys),
        (ExplorerScatter.HELP_TITLE, ExplorerScatter.HELP, scatter_keys),
        (NeighboursPane.HELP_TITLE, NeighboursPane.HELP,
         LIST_KEYS + [("Enter", "walk to the highlighted neighbour"),
                      ("Backspace", "back along the trail")]),
        (ClustersPane.HELP_TITLE, ClustersPane.HELP,
         LIST_KEYS + [("Enter", "choose the cluster / select the member")]
         + _keys(ClustersPane.BINDINGS)),
        (DetailsPane.HELP_TITLE, DetailsPane.HELP, [("↑ ↓ PgUp PgDn", "scroll")]),
        (SearchScreen.HELP_TITLE, SearchScreen.HELP,
         [("type", "search"), ("↑ ↓", "move through the results"),
          ("Enter", "jump to the highlighted result")]
         + _keys(SearchScreen.BINDINGS, skip=("results_down", "results_up"))),
        (HeatmapScreen.HELP_TITLE, HeatmapScreen.HELP,
         _keys(HeatmapView.BINDINGS) + _keys(HeatmapScreen.BINDINGS)),
        (PairsScreen.HELP_TITLE, PairsScreen.HELP,
         [("↑ ↓", "move through the pairs"), ("Enter", "select the pair")]
         + _keys(PairsScreen.BINDINGS)),
        (DiagnosticsScreen.HELP_TITLE, DiagnosticsScreen.HELP,
         [("↑ ↓", "move through the lists"), ("Enter", "select the entity")]
         + _keys(DiagnosticsScreen.BINDINGS)),
        (ExportScreen.HELP_TITLE, ExportScreen.HELP,
         [("Enter", "write the file")] + _keys(ExportScreen.BINDINGS)),
    ]


def help_renderable(focused: str, app_bindings) -> Group:
    """The sections as text, the focused pane's first."""
    order = sections(app_bindings)
    first = [s for s in order if s[0].lower() == focused.lower()]
    parts = []
    for title, text, keys in first + [s for s in order if s not in first]:
        parts.append(Text(title, style="bold underline"))
        parts.append(Text(text, style="dim"))
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold", min_width=14)
        table.add_column()
        for key, desc in keys:
            table.add_row(Text(key), Text(desc))
        parts.append(table)
        parts.append(Text(""))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close help", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        background: $background 40%;
    }
    #help-box {
        width: 95%;
        max-width: 100;
        height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, focused: str = "scatter") -> None:
        super().__init__()
        self._focused = focused

    def compose(self):
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys · Esc closes"
            yield Static(help_renderable(self._focused, self.app.BINDINGS), id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)
