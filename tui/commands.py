"""The command palette's explorer commands (Ctrl+P): colour by…, go to cluster…, export…."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from tui.state import mode_title
from tui.text import plain_label

CLUSTER_COMMANDS = 30  # the largest clusters get a "go to" command each


class ExplorerCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        """(title, callback, help) for what the explorer can do now."""
        app = self.app
        out = [("Search labels", app.action_search, "fuzzy search; Enter jumps to it"),
               ("Help: keys and panes", app.action_help, "every key, by pane"),
               ("Reset the view", app.action_reset_view, "fit all points"),
               ("Raise the threshold", partial(app.action_threshold, 1), "fine step"),
               ("Lower the threshold", partial(app.action_threshold, -1), "fine step"),
               ("Toggle braille / group symbols", app.action_toggle_marks,
                "symbols tell clusters apart without colour"),
               ("Toggle cluster labels on the map", app.action_toggle_names,
                "each cluster named by its keywords, at its centre")]
        for mode in app.group_modes:
            out.append((f"Colour by {mode_title(mode)}", partial(app.choose_group_mode, mode),
                        "colour the scatter"))
        for mode in app.emphasis_modes:
            what = "nothing (every point counts one)" if mode == "off" else mode_title(mode)
            out.append((f"Weight the shading by {what}", partial(app.set_emphasis, mode),
                        "hubs (or high values) stand out as brighter cells"))
        for name in app.layouts:
            out.append((f"Layout: {name}", partial(app.show_layout, name), "show this layout"))
        ds = app.ds
        for name in (ds.embeddings if ds is not None and len(ds.embeddings) > 1 else []):
            if name != ds.embedding:
                out.append((f"Embedding: {name}", partial(app.switch_embedding, name),
                            "its neighbours, clusters and map, turned onto this one"))
        if app.selection is not None:
            out.append(("Go to the selection's cluster", app.action_selection_cluster,
                        "choose it; it follows the selection as the threshold moves"))
            out.append(("Export the selection and its neighbours…",
                        partial(app.export, "neighbours"), "to CSV, parquet or JSONL"))
        if app.anchor is not None:
            out.append(("Export the chosen cluster…", partial(app.export, "cluster"),
                        "to CSV, parquet or JSONL"))
        view = app.view
        if view is not None and app.labels is not None:
            examples = app.examples
            named = app.listed_names or []
            for c in range(min(len(view), CLUSTER_COMMANDS)):
                first = examples[c][0] if c < len(examples) and len(
                    examples[c]) else view.members(c)[0]
                name = plain_label(app.labels[first], 40)
                if c < len(named) and named[c]:
                    name = f"{plain_label(named[c], 40)} · {name}"
                out.append((f"Go to cluster {c} ({int(view.sizes[c])}): {name}",
                            partial(app.go_to_cluster, c, view), "highlight it and list members"))
        return out

    def _plain_commands(self) -> list[tuple[str, object, str]]:
        # titles hold column, layout and entity names: plain text, never markup or controls
        return [(plain_label(t, 80), cb, plain_label(h, 120)) for t, cb, h in self._commands()]

    async def discover(self) -> Hits:
        for title, callback, help_text in self._plain_commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._plain_commands():
            score = matcher.match(title)
            if score > 0:
                # Titles may hold labels: highlight on plain Content, never parse markup.
                _, offsets = matcher.fuzzy_search.match(query, title)
                display = Content(title)
                for o in offsets:
                    display = display.stylize("bold reverse", o, o + 1)
                yield Hit(score, display, callback, text=title, help=help_text)
