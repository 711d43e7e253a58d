"""The diagnostics screen: the graph's hubs, bridges at the threshold and isolates; Enter
selects one."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.text import plain_label
from tui.widgets.common import list_screen_css

LABEL_WIDTH = 60


class DiagnosticsScreen(ModalScreen[None]):
    """A heading, then three lists in one (hubs, bridges, isolates); Esc closes."""

    HELP_TITLE = "Diagnostics"
    HELP = ("D lists what is odd about the neighbour graph: hubs (the entities most often "
            "among others' nearest, with the in-degree and its skewness over the whole "
            "graph), bridges at the current threshold (entities whose removal splits their "
            "cluster, the most entities cut off first) and isolates (listed as a neighbour "
            "by none). Enter selects the entity of the row.")

    BINDINGS = [Binding("escape", "close", "Close", id="diagnostics.close",
                        tooltip="back to the explorer")]

    DEFAULT_CSS = list_screen_css("DiagnosticsScreen", "diag")

    @dataclass
    class EntityChosen(Message):
        index: int

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[int | None] = []  # the entity of each row (None: a heading)

    def compose(self):
        yield Static(Text("Diagnostics · looking at the graph…"), id="diag-title")
        yield OptionList(id="diag-list")
        yield Static(Text("Enter selects · Esc closes"), id="diag-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def show(self, doc: dict, idx: dict[str, list[int]]) -> None:
        """`doc`: what Dataset.diagnose returns; idx: the entities of its three lists."""
        deg = doc["in_degree"]
        self.query_one("#diag-title", Static).update(Text(
            f"Diagnostics · {doc['entities']:,} entities, k = {doc['k']} · in-degree mean "
            f"{deg['mean']:.2f}, max {deg['max']}, skewness {deg['skewness']:.2f}"))
        options, rows = [], []

        def heading(text: str) -> None:
            options.append(Option(Text(text, style="bold"), disabled=True))
            rows.append(None)

        def entity(i: int, left: str, label: str) -> None:
            options.append(Option(Text(f"  {left:>16}  {plain_label(label, LABEL_WIDTH)}")))
            rows.append(i)
        heading("hubs: in-degree")
        for i, e in zip(idx["hubs"], doc["hubs"], strict=True):
            entity(i, f"{e['in_degree']:,}", e["label"])
        br = doc["bridges"]
        heading(f"bridges at {doc['threshold']:g}: {br['count']:,} · cut off / parts / "
                "cluster")
        for i, e in zip(idx["bridges"], br["entities"], strict=True):
            entity(i, f"{e['cut_off']:,} / {e['parts']} / {e['component']:,}", e["label"])
        iso = doc["isolates"]
        heading(f"isolates: {iso['count']:,} listed by none")
        for i, e in zip(idx["isolates"], iso["entities"], strict=True):
            entity(i, "", e["label"])
        self.rows = rows
        lst = self.query_one(OptionList)
        lst.clear_options()
        lst.add_options(options)
        first = next((n for n, r in enumerate(rows) if r is not None), None)
        if first is not None:
            lst.highlighted = first

    def show_message(self, text: str) -> None:
        self.query_one("#diag-status", Static).update(Text(plain_label(text, 300)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        i = self.rows[event.option_index]
        if i is not None:
            self.post_message(self.EntityChosen(i))

    def action_close(self) -> None:
        self.dismiss(None)
