"""The fuzzy search box: results on every keystroke from a worker, matched characters marked."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui.text import plain_label

LIMIT = 50


def highlighted(label, positions: list[int]) -> Text:
    """A label as plain text with the matched characters in bold underline."""
    raw = "" if label is None else str(label)
    shown = plain_label(raw)
    text = Text(shown, no_wrap=True, overflow="ellipsis")
    # The sanitiser keeps one character per character (stand-ins for controls), so the
    # positions carry over when the lengths agree; otherwise mark nothing rather than the
    # wrong letters.
    if len(shown) == len(raw):
        for p in positions:
            if 0 <= p < len(shown):
                text.stylize("bold underline", p, p + 1)
    return text


class _Results(OptionList, can_focus=False):
    """Results the box steers: focus stays in the input, as in fzf."""


class SearchScreen(ModalScreen[int | None]):
    """`/`: type to search labels; Enter jumps to the highlighted result, Escape closes."""

    HELP_TITLE = "Search"
    HELP = ("Type to search the labels; results are ranked best first and update on every "
            "keystroke, matched characters marked. Down/Up move through the results, Enter "
            "jumps the cursor and selection to the highlighted one, Escape closes. In a file "
            "built from text (build --text-column, with the [text] extra), Ctrl+T lists the "
            "entities nearest the typed text by meaning instead: the text embedded with the "
            "file's model, exact over its vectors; typing again goes back to the labels.")

    BINDINGS = [
        Binding("escape", "close", "Close", id="search.close"),
        Binding("ctrl+t", "nearest_text", "Nearest to this text", id="search.nearest_text",
                tooltip="the entities nearest the typed text by meaning (a file built from "
                        "text)"),
        Binding("down", "results_down", "Results", show=False, id="search.down"),
        Binding("up", "results_up", "Results", show=False, id="search.up"),
    ]

    DEFAULT_CSS = """
    SearchScreen {
        align: center top;
        background: $background 40%;
    }
    #search-box {
        width: 90%;
        max-width: 90;
        height: auto;
        max-height: 80%;
        margin-top: 1;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    #search-input {
        border: none;
        height: 1;
        padding: 0;
    }
    #search-status {
        color: $text-muted;
        height: 1;
    }
    #search-results {
        text-wrap: nowrap;
        text-overflow: ellipsis;
        height: auto;
        max-height: 20;
        border: none;
        padding: 0;
    }
    """

    class Results(Message):
        def __init__(self, query: str, idx: np.ndarray, rows: list[Text], note: str) -> None:
            super().__init__()
            self.query = query
            self.idx = idx
            self.rows = rows
            self.note = note

    def __init__(self, ds, labels: np.ndarray | None, query: str = "",
                 by_meaning: str | None = None) -> None:
        """`by_meaning`: why Ctrl+T cannot embed a text here, or None when it can."""
        super().__init__()
        self._ds = ds
        self._labels = labels
        self._initial = query
        self._idx: list[int] = []
        self._by_meaning = by_meaning

    def compose(self):
        with Vertical(id="search-box") as box:
            box.border_title = "Search"
            yield Input(value=self._initial, placeholder="type part of a label…",
                        id="search-input")
            yield Static(Text("type to search", style="dim"), id="search-status")
            yield _Results(id="search-results")

    def on_mount(self) -> None:
        self.query_one("#search-input", Input).focus()
        if self._initial:
            self.run_search(self._initial)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, query: str) -> None:
        worker = get_current_worker()
        if not query.strip() or self._ds is None or self._labels is None:
            note = "type to search" if self._ds is not None else "still loading labels…"
            self.post_message(self.Results(query, np.zeros(0, np.int64), [], note))
            return
        try:
            index = self._ds.search_index()
            idx, _score, typo = index.search_typos(query, limit=LIMIT)
        except Exception as err:  # a bad query is a message, not a crash
            self.post_message(self.Results(query, np.zeros(0, np.int64), [],
                                           plain_label(str(err), 200)))
            return
        if worker.is_cancelled:
            return
        rows = [highlighted(self._labels[i], index.positions(i, query)) for i in idx.tolist()]
        note = (f"best {LIMIT} matches" if len(rows) >= LIMIT
                else f"{len(rows)} match" + ("" if len(rows) == 1 else "es"))
        note += " · ↑↓ move · Enter jumps · Esc closes"
        if typo.any():
            note = (f"{int(typo.sum())} by a near spelling (the query does not match as typed) · "
                    + note)
        if not rows:
            note = "no matches"
        if not worker.is_cancelled:
            self.post_message(self.Results(query, np.asarray(idx), rows, note))

    def action_nearest_text(self) -> None:
        query = self.query_one("#search-input", Input).value
        status = self.query_one("#search-status", Static)
        if self._by_meaning is not None:
            status.update(Text(self._by_meaning, style="dim"))
        elif not query.strip():
            status.update(Text("type a text first, then Ctrl+T", style="dim"))
        else:
            status.update(Text("embedding the text…", style="dim"))
            self.run_text_query(query)

    @work(thread=True, exclusive=True, group="search")
    def run_text_query(self, query: str) -> None:
        """The entities nearest `query` by meaning (Dataset.nearest_to_text), best first."""
        try:
            found = self._ds.nearest_to_text(query, LIMIT)
        except Exception as err:  # a failure is the status line's, not a crash
            self.post_message(self.Results(query, np.zeros(0, np.int64), [],
                                           plain_label(str(err).splitlines()[0], 200)))
            return
        rows = []
        for i, sim in zip(found.idx.tolist(), found.sim.tolist(), strict=True):
            row = Text(f"{sim:.3f} ", style="dim", no_wrap=True, overflow="ellipsis")
            row.append(plain_label(self._labels[i]))
            rows.append(row)
        note = (f"nearest {len(rows)} by meaning (exact, over every vector) · Enter jumps · "
                "type to search labels again")
        if not get_current_worker().is_cancelled:
            self.post_message(self.Results(query, found.idx.astype(np.int64), rows, note))

    def on_search_screen_results(self, message: Results) -> None:
        if message.query != self.query_one("#search-input", Input).value:
            return  # a later keystroke is on its way
        self._idx = message.idx.tolist()
        self.query_one("#search-status", Static).update(Text(message.note, style="dim"))
        results = self.query_one("#search-results", OptionList)
        results.set_options([Option(r) for r in message.rows])
        if message.rows:
            results.highlighted = 0

    @on(Input.Submitted, "#search-input")
    def _submitted(self) -> None:
        results = self.query_one("#search-results", OptionList)
        h = results.highlighted
        if self._idx:
            self.dismiss(self._idx[h if h is not None and h < len(self._idx) else 0])
        elif not self.query_one("#search-input", Input).value.strip():
            # Enter on an empty or blank query: say what the box wants instead of nothing
            self.query_one("#search-status", Static).update(
                Text("type part of a label to search (Esc closes)", style="dim"))

    @on(OptionList.OptionSelected, "#search-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self._idx):
            self.dismiss(self._idx[event.option_index])

    def action_results_down(self) -> None:
        self.query_one("#search-results", OptionList).action_cursor_down()

    def action_results_up(self) -> None:
        self.query_one("#search-results", OptionList).action_cursor_up()

    def action_close(self) -> None:
        self.dismiss(None)
