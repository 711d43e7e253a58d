"""Full-screen error and the export dialog."""

from __future__ import annotations

import os

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from engine.errors import InputError
from engine.export import check_target
from tui.export import ExportJob, export_rows
from tui.text import plain_label


class ErrorScreen(Screen):
    """Shown instead of the explorer when the dataset cannot be opened."""

    BINDINGS = [Binding("q,escape", "app.quit", "Quit", id="error.quit")]

    DEFAULT_CSS = """
    ErrorScreen {
        align: center middle;
    }
    #error-box {
        width: 80%;
        max-width: 100;
        height: auto;
        border: heavy $error;
        padding: 1 2;
    }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self):
        with Vertical(id="error-box") as box:
            box.border_title = "cannot open the dataset"
            yield Static(Text(plain_label(self._text, 2000)), id="error-text")
            yield Static(Text("\nPress q to quit.", style="dim"))
        yield Footer()


class ExportScreen(ModalScreen[str | None]):
    """Asks for a file name and writes the job in a worker; dismisses with the path."""

    HELP_TITLE = "Export"
    HELP = ("Writes the chosen cluster (or the selection and its neighbours) with ids, labels "
            "and metadata. The format follows the file name: .csv, .tsv, .parquet or .jsonl. "
            "Enter writes, Escape cancels; an existing file needs a second Enter.")

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
        background: $background 40%;
    }
    #export-box {
        width: 90%;
        max-width: 80;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    #export-input {
        margin: 1 0 0 0;
    }
    #export-note {
        height: auto;
        color: $text-muted;
    }
    """

    class Done(Message):
        def __init__(self, path: str | None, error: str | None, rows: int = 0) -> None:
            super().__init__()
            self.path = path
            self.error = error
            self.rows = rows

    def __init__(self, ds, job: ExportJob) -> None:
        super().__init__()
        self._ds = ds
        self._job = job
        self._confirm: str | None = None

    def compose(self):
        with Vertical(id="export-box") as box:
            box.border_title = "Export"
            yield Static(Text(plain_label(self._job.what, 300)), id="export-what")
            yield Input(value=self._job.default_name, id="export-input")
            yield Static(Text(".csv, .tsv, .parquet or .jsonl · Enter writes · Escape "
                              "cancels"), id="export-note")

    def on_mount(self) -> None:
        self.query_one("#export-input", Input).focus()

    @on(Input.Submitted, "#export-input")
    def _submit(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            self._note("give a file name", error=True)
            return
        full = os.path.expanduser(path)
        try:  # a device, FIFO or directory is refused before asking to overwrite it
            check_target(full, protect=self._ds.path)
        except InputError as err:
            self._note(str(err), error=True)
            return
        if os.path.exists(full) and not os.path.isdir(full) and self._confirm != full:
            self._confirm = full
            self._note(f"{path} exists: Enter again to overwrite it", error=True)
            return
        self._note("writing…")
        self.write(full)

    @on(Input.Changed, "#export-input")
    def _changed(self) -> None:
        self._confirm = None

    @work(thread=True, exclusive=True, group="export")
    def write(self, path: str) -> None:
        try:
            n = export_rows(self._ds, self._job.rows, self._job.extra, path)
        except Exception as err:  # shown in the dialog; the file is left untouched
            self.post_message(self.Done(None, str(err)))
            return
        self.post_message(self.Done(path, None, n))

    def on_export_screen_done(self, message: Done) -> None:
        if message.error is not None:
            self._note(message.error, error=True)
        else:
            self.dismiss(f"{message.rows} rows to {os.path.abspath(message.path)}")

    def _note(self, text: str, error: bool = False) -> None:
        self.query_one("#export-note", Static).update(
            Text(plain_label(text, 300), style="bold red" if error else ""))

    def action_cancel(self) -> None:
        self.dismiss(None)
