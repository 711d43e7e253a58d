"""The pairs screen: the most (or least) similar pairs of the dataset; Enter selects one."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.text import plain_label
from tui.widgets.common import list_screen_css

LABEL_WIDTH = 40  # at most; narrower so a pair stays on one line


class PairsScreen(ModalScreen[None]):
    """Title, one pair a row (rank, similarity, label a, label b), status; Esc closes."""

    HELP_TITLE = "Pairs"
    HELP = ("P lists the most similar pairs of the dataset (from the stored neighbour graph); "
            "l switches to the least similar (all pairs of vectors, or the pairs of "
            "collections that met; a sample above 10,000 entities, as the heading says). "
            "Enter selects the pair: the first entity, with the second highlighted.")

    BINDINGS = [Binding("escape", "close", "Close", id="pairs.close",
                        tooltip="back to the explorer"),
                Binding("l", "toggle_least", "Most/least", id="pairs.least",
                        tooltip="switch between the most and the least similar pairs")]

    DEFAULT_CSS = list_screen_css("PairsScreen", "pairs")

    @dataclass
    class Toggled(Message):
        least: bool

    @dataclass
    class PairChosen(Message):
        a: int
        b: int

    def __init__(self, least: bool = False) -> None:
        super().__init__()
        self.least = least
        self.pairs: list[tuple[int, int]] = []

    def compose(self):
        yield Static(Text(self._waiting()), id="pairs-title")
        yield OptionList(id="pairs-list")
        yield Static(Text("Enter selects the pair · l most/least · Esc closes"),
                     id="pairs-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def _waiting(self) -> str:
        return f"Pairs · finding the {'least' if self.least else 'most'} similar pairs…"

    def show(self, least: bool, heading: str, rows: list[tuple[int, int, str, str, str]]
             ) -> None:
        """rows: (a, b, similarity as text, label a, label b), labels already plain."""
        if least != self.least:
            return  # an answer to the request before the last toggle
        self.query_one("#pairs-title", Static).update(Text(f"Pairs · {plain_label(heading, 300)}"))
        self.pairs = [(a, b) for a, b, *_ in rows]
        # rank, similarity and gaps take 20 columns, the list's scrollbar and padding ~4
        each = max(8, min(LABEL_WIDTH, (self.app.size.width - 24) // 2))
        left = [plain_label(r[3], each) for r in rows]
        width = max([cell_len(x) for x in left] + [1])
        lst = self.query_one(OptionList)
        lst.clear_options()
        lst.add_options([Option(Text(f"{rank:>4}  {sim:>10}  {a}{' ' * (width - cell_len(a))}"
                                     f"  {plain_label(r[4], each)}"))
                         for rank, (r, a, sim) in enumerate(
                             zip(rows, left, (r[2] for r in rows), strict=True), 1)])
        if rows:
            lst.highlighted = 0
        else:
            self.show_message("no pairs")

    def show_message(self, text: str) -> None:
        self.query_one("#pairs-status", Static).update(Text(plain_label(text, 300)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        a, b = self.pairs[event.option_index]
        self.post_message(self.PairChosen(a, b))

    def action_toggle_least(self) -> None:
        self.least = not self.least
        self.query_one("#pairs-title", Static).update(Text(self._waiting()))
        self.query_one(OptionList).clear_options()
        self.post_message(self.Toggled(self.least))

    def action_close(self) -> None:
        self.dismiss(None)
