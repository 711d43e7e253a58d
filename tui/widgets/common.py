"""Pieces shared by the panes: label rendering and the pane base class."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical

from tui.text import plain_label


def label_text(label, max_len: int | None = None, style: str = "") -> Text:
    """A label as plain text: markup and terminal controls show literally, never act."""
    return Text(plain_label("" if label is None else str(label), max_len), style=style,
                no_wrap=True, overflow="ellipsis")


class Pane(Vertical):
    """A bordered side pane; HELP_TITLE/HELP feed the help screen."""

    HELP_TITLE = ""
    HELP = ""

    DEFAULT_CSS = """
    Pane {
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        height: 1fr;
        padding: 0 1;
    }
    Pane:focus-within {
        border: round $accent;
        border-title-color: $text;
        border-title-style: bold;
    }
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = title

    def focus_pane(self) -> None:
        """Focus the pane's first focusable child (or the pane itself)."""
        for child in self.query("*"):
            if child.focusable:
                child.focus()
                return
        if self.focusable:
            self.focus()


def list_screen_css(screen: str, prefix: str) -> str:
    """The CSS of a full-terminal list screen: a bold title line, the list, a status line
    (ids PREFIX-title, PREFIX-list, PREFIX-status)."""
    return f"""
    {screen} {{
        background: $background;
    }}
    #{prefix}-title, #{prefix}-status {{
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }}
    #{prefix}-title {{
        text-style: bold;
    }}
    #{prefix}-list {{
        height: 1fr;
        border: none;
    }}
    """
