"""Scatter widget in a tiny App: state in through methods, messages out, lines via the Line API."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from textual import events
from textual.app import App, ComposeResult

from tui.braille import cell_of
from tui.widgets.scatter import EDGE_BANDS, Scatter, build_line

# a plus sign around point 0, one point far up-right, one far down-left
POINTS = np.array([
    (0.0, 0.0),    # 0 centre
    (1.0, 0.1),    # 1 right
    (-1.0, 0.0),   # 2 left
    (0.0, 1.0),    # 3 up
    (0.1, -1.0),   # 4 down
    (6.0, 5.0),    # 5 far up-right
    (-6.0, -5.0),  # 6 far down-left
], dtype=np.float32)
LABELS = [f"p{i}" for i in range(len(POINTS))]


class ScatterApp(App):
    def __init__(self):
        super().__init__()
        self.messages: list[tuple[str, int | None]] = []

    def compose(self) -> ComposeResult:
        yield Scatter()

    def on_scatter_cursor_moved(self, message: Scatter.CursorMoved) -> None:
        self.messages.append(("moved", message.index))

    def on_scatter_clicked(self, message: Scatter.Clicked) -> None:
        self.messages.append(("clicked", message.index))

    def on_scatter_hovered(self, message: Scatter.Hovered) -> None:
        self.messages.append(("hovered", message.index))

    def on_scatter_view_changed(self, message: Scatter.ViewChanged) -> None:
        self.messages.append(("view", None))


def run(test, size=(80, 24)):
    async def main():
        app = ScatterApp()
        async with app.run_test(size=size) as pilot:
            scatter = app.query_one(Scatter)
            scatter.set_points(POINTS)
            scatter.set_labels(LABELS)
            await pilot.pause()
            app.messages.clear()
            await test(app, scatter, pilot)
    asyncio.run(main())


def cells(scatter: Scatter) -> list[list[tuple[str, object]]]:
    """(character, style) per cell for every line of the widget."""
    grid = []
    for y in range(scatter.size.height):
        row = []
        for segment in scatter.render_line(y):
            row.extend((ch, segment.style) for ch in segment.text)
        grid.append(row)
    return grid


def cell_at(scatter: Scatter, index: int):
    col, row = cell_of(POINTS[index, 0], POINTS[index, 1], scatter.view, *scatter.size)
    return col, row


def is_braille(ch: str) -> bool:
    return 0x2801 <= ord(ch) <= 0x28FF


def test_move_cursor_posts_messages_and_draws_the_cursor():
    async def test(app, scatter, pilot):
        scatter.set_cursor(0)
        assert scatter.move_cursor("right") == 1
        assert scatter.move_cursor("left") == 0
        assert scatter.move_cursor("up") == 3
        assert scatter.move_cursor("down") == 0
        assert scatter.move_cursor("down") == 4
        await pilot.pause()
        assert app.messages == [("moved", 1), ("moved", 0), ("moved", 3), ("moved", 0),
                                ("moved", 4)]
        grid = cells(scatter)
        assert all(len(row) == 80 for row in grid)
        assert sum(is_braille(ch) for row in grid for ch, _ in row) >= 5
        col, row = cell_at(scatter, 4)
        ch, style = grid[row][col]
        assert is_braille(ch) and style.reverse and style.bold
        # only the cursor cell is reverse video
        assert sum(bool(st.reverse) for r in grid for _, st in r) == 1
        assert scatter.status.cursor == 4 and scatter.status.label == "p4"
    run(test)


def test_cursor_stays_put_when_nothing_lies_ahead():
    async def test(app, scatter, pilot):
        scatter.set_cursor(6)
        assert scatter.move_cursor("left") is None
        assert scatter.move_cursor("down") is None
        # up-right of 6, outside every ±45° cone of a plain "right": the half-plane catches it
        scatter.set_points(np.array([(0, 0), (1, 3)], dtype=np.float32))
        scatter.set_cursor(0)
        assert scatter.move_cursor("right") == 1
        await pilot.pause()
        assert [m for m in app.messages if m[0] == "moved"] == [("moved", 1)]
    run(test)


def test_keys_move_the_cursor_and_zoom():
    async def test(app, scatter, pilot):
        scatter.focus()
        scatter.set_cursor(0)
        await pilot.press("right", "up")
        assert ("moved", 1) in app.messages and scatter.cursor is not None
        before = scatter.view
        await pilot.press("plus")
        after = scatter.view
        assert after[1] - after[0] == pytest.approx((before[1] - before[0]) / 2)
        await pilot.press("0")
        assert scatter.zoom_level == pytest.approx(1.0)
    run(test)


def test_click_selects_the_nearest_point_and_hover_reports_it():
    async def test(app, scatter, pilot):
        col, row = cell_at(scatter, 5)
        await pilot.click(Scatter, offset=(col, row))
        await pilot.pause()
        assert ("clicked", 5) in app.messages and ("moved", 5) in app.messages
        assert scatter.cursor == 5
        # a click on empty space still picks the nearest point
        await pilot.click(Scatter, offset=(col - 3, row + 1))
        await pilot.pause()
        assert app.messages[-1] == ("clicked", 5)
        col6, row6 = cell_at(scatter, 6)
        await pilot.hover(Scatter, offset=(col6, row6))
        await pilot.pause()
        assert ("hovered", 6) in app.messages
        assert scatter.status.hover == 6 and scatter.status.label == "p6"
    run(test)


def test_wheel_zooms_around_the_mouse():
    async def test(app, scatter, pilot):
        col, row = cell_at(scatter, 5)
        region = scatter.content_region
        before = scatter.view
        scatter.post_message(events.MouseScrollUp(
            scatter, col, row, 0, -1, 0, False, False, False,
            screen_x=region.x + col, screen_y=region.y + row))
        await pilot.pause()
        after = scatter.view
        assert after[1] - after[0] < before[1] - before[0]
        # the data point under the mouse (the cell centre) stays under it
        x0, x1, y0, y1 = before
        width, height = scatter.size
        anchor = (x0 + (col + 0.5) * (x1 - x0) / width, y1 - (row + 0.5) * (y1 - y0) / height)
        assert cell_of(*anchor, after, width, height) == (col, row)
        assert ("view", None) in app.messages
    run(test)


def test_zoom_keeps_the_cursor_in_place_and_pan_moves_the_view():
    async def test(app, scatter, pilot):
        scatter.set_cursor(1)
        await pilot.pause()
        col, row = cell_at(scatter, 1)
        total = scatter.status.in_view
        scatter.zoom(4)
        await pilot.pause()
        assert cell_at(scatter, 1) == (col, row)
        assert scatter.zoom_level == pytest.approx(4)
        assert scatter.status.in_view < total
        x0, x1, y0, y1 = scatter.view
        scatter.pan(0.5, 0)
        nx0, nx1, ny0, ny1 = scatter.view
        assert nx0 == pytest.approx(x0 + (x1 - x0) / 2) and ny0 == pytest.approx(y0)
        scatter.reset_view()
        await pilot.pause()
        assert scatter.status.in_view == len(POINTS)
        assert "7 of 7 in view" in str(scatter.status)
    run(test)


def test_fit_keeps_dots_square_and_resize_redraws():
    async def test(app, scatter, pilot):
        x0, x1, y0, y1 = scatter.view
        width, height = scatter.size
        # the same data units per dot across and down (a cell is 2 × 4 dots)
        assert (x1 - x0) / (2 * width) == pytest.approx((y1 - y0) / (4 * height))
        assert x0 < -6 and x1 > 6 and y0 < -5 and y1 > 5
        scatter.set_cursor(0)
        await pilot.resize_terminal(50, 14)
        await pilot.pause()
        assert scatter.size.width == 50
        grid = cells(scatter)
        assert len(grid) == 14 and all(len(row) == 50 for row in grid)
        x0, x1, y0, y1 = scatter.view
        assert x0 < -6 and x1 > 6 and y0 < -5 and y1 > 5
        col, row = cell_at(scatter, 0)
        assert grid[row][col][1].reverse
        assert sum(is_braille(ch) for r in grid for ch, _ in r) == len(POINTS)
    run(test)


def test_highlight_and_labels_are_plain_text():
    async def test(app, scatter, pilot):
        scatter.show_cursor_label = False
        scatter.set_highlight([5, 6], labels=["[bold red]x[/]", "\x1b]52;c;aGk=\x07"])
        await pilot.pause()
        grid = cells(scatter)
        text = "\n".join("".join(ch for ch, _ in row) for row in grid)
        assert "[bold red]x[/]" in text
        assert "␛]52;c;aGk=␇" in text and "\x1b" not in text
        col, row = cell_at(scatter, 5)
        ch, style = grid[row][col]
        hl = scatter.get_component_rich_style("scatter--highlight", partial=True)
        assert is_braille(ch) and style.bold == hl.bold and style.color == hl.color
        scatter.set_highlight(None)
        await pilot.pause()
        assert "[bold red]x[/]" not in "".join(s.text for s in map(scatter.render_line,
                                                                     range(24)))
    run(test)


def test_cursor_label_is_drawn_beside_an_isolated_cursor():
    async def test(app, scatter, pilot):
        scatter.set_labels(lambda i: f"[i]name\u202e{i}")
        scatter.set_cursor(5)
        await pilot.pause()
        col, row = cell_at(scatter, 5)
        line = scatter.render_line(row).text
        assert "[i]name�5" in line and "\u202e" not in line
    run(test)


def _group_points():
    # two groups far apart, several points each so the cells are dense
    xy = np.array([(x, 0.0) for x in range(5)] + [(x + 20.0, 10.0) for x in range(5)],
                  dtype=np.float32)
    return xy, np.array([0] * 5 + [1] * 5)


@pytest.mark.parametrize("mode", ["truecolor", "256", "16", "mono"])
def test_groups_are_distinguishable_in_every_colour_mode(mode):
    async def test(app, scatter, pilot):
        xy, groups = _group_points()
        scatter.set_points(xy)
        scatter.set_groups(groups)
        scatter.palette_mode = mode
        await pilot.pause()
        grid = cells(scatter)
        styles = {0: set(), 1: set()}
        for i, g in enumerate(groups):
            col, row = cell_of(xy[i, 0], xy[i, 1], scatter.view, *scatter.size)
            styles[g].add(grid[row][col][1])
        assert styles[0] and styles[1] and not styles[0] & styles[1]
        scatter.set_cursor(0)
        await pilot.pause()
        col, row = cell_of(xy[0, 0], xy[0, 1], scatter.view, *scatter.size)
        assert cells(scatter)[row][col][1].reverse
    run(test)


def test_no_color_environment_selects_mono_and_group_symbols(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def test(app, scatter, pilot):
        assert app.no_color
        xy, groups = _group_points()
        scatter.set_points(xy)
        scatter.set_groups(groups)
        await pilot.pause()
        grid = cells(scatter)
        # the terminal shows no colour: the groups must differ in text attributes alone
        seen = {0: set(), 1: set()}
        for i, g in enumerate(groups):
            col, row = cell_of(xy[i, 0], xy[i, 1], scatter.view, *scatter.size)
            seen[g].add(grid[row][col][1].without_color)
        assert not seen[0] & seen[1]
        scatter.marks = "groups"
        await pilot.pause()
        text = "".join(ch for row in cells(scatter) for ch, _ in row)
        assert "0" in text and "1" in text and not any(is_braille(c) for c in text)
    run(test)


def test_density_makes_busy_cells_brighter():
    async def test(app, scatter, pilot):
        rng = np.random.default_rng(1)
        busy = np.zeros((200, 2), np.float32) + rng.normal(0, 1e-4, (200, 2)).astype(np.float32)
        xy = np.vstack([busy, [(10, 10), (-10, -10)]]).astype(np.float32)
        scatter.set_points(xy)
        scatter.palette_mode = "truecolor"
        await pilot.pause()
        grid = cells(scatter)

        def lum(i):
            col, row = cell_of(xy[i, 0], xy[i, 1], scatter.view, *scatter.size)
            r, g, b = grid[row][col][1].color.get_truecolor()
            return r + g + b
        assert lum(0) > lum(len(xy) - 1)
    run(test)


def test_status_and_view_changed():
    async def test(app, scatter, pilot):
        status = scatter.status
        assert (status.total, status.in_view, status.zoom) == (7, 7, pytest.approx(1.0))
        scatter.zoom(2)
        await pilot.pause()
        assert ("view", None) in app.messages
        with pytest.raises(ValueError):
            scatter.set_groups(np.zeros(3))
        with pytest.raises(ValueError):
            scatter.set_cursor(99)
        with pytest.raises(ValueError):
            scatter.move_cursor("sideways")
    run(test)


def test_lines_are_cached_until_something_changes():
    async def test(app, scatter, pilot):
        first = scatter.render_line(3)
        assert scatter.render_line(3) is first
        scatter.set_cursor(3)
        await pilot.pause()
        rows = {cell_at(scatter, 3)[1], cell_at(scatter, 4)[1]}
        untouched = next(y for y in range(24) if y not in rows)
        kept = scatter.render_line(untouched)
        row4 = cell_at(scatter, 4)[1]
        before4 = scatter.render_line(row4)
        scatter.set_cursor(4)
        await pilot.pause()
        # only the lines whose cells changed are rebuilt
        assert scatter.render_line(untouched) is kept
        assert scatter.render_line(row4) is not before4
    run(test)


def test_build_line_runs():
    from rich.style import Style
    styles = [Style(), Style(bold=True), Style(italic=True)]
    text = np.array([0x20, 0x2801, 0x2802, ord("日"), 0, ord("x")], dtype=np.uint32)
    keys = np.array([0, 1, 1, 2, 2, 2], dtype=np.int32)
    strip = build_line(text, keys, styles)
    assert [s.text for s in strip] == [" ", "⠁⠂", "日x"]
    assert strip.cell_length == 6


def test_a_new_palette_recolours_cached_lines():
    async def test(app, scatter, pilot):
        xy, groups = _group_points()
        scatter.set_points(xy)
        scatter.palette_mode = "truecolor"
        scatter.set_groups(groups, ["#ff0000", "#00ff00"])
        await pilot.pause()
        col, row = cell_of(xy[0, 0], xy[0, 1], scatter.view, *scatter.size)
        red = cells(scatter)[row][col][1].color.get_truecolor()
        scatter.set_groups(groups, ["#0000ff", "#00ff00"])
        await pilot.pause()
        blue = cells(scatter)[row][col][1].color.get_truecolor()
        assert red.red > red.blue and blue.blue > blue.red
    run(test)


def test_labels_find_room_or_the_first_covers_points():
    from tui.widgets.scatter import _place_label
    LABEL, CURSOR = 5, 6
    text = np.full((3, 12), ord("x"), dtype=np.uint32)
    keys = np.ones((3, 12), dtype=np.int32)  # every cell holds points
    keys[1, 4] = CURSOR
    assert not _place_label(text, keys, 1, 4, "abc", LABEL)  # no free cells: skipped
    keys[2, 5:8] = 0  # free cells below, right of the point
    assert _place_label(text, keys, 1, 4, "abc", LABEL)
    assert "".join(map(chr, text[2, 5:8])) == "abc" and (keys[2, 5:8] == LABEL).all()
    # forced, with no free room: right of the point over plain points, cut to fit
    assert _place_label(text, keys, 1, 4, "a long name", LABEL, force=True)
    assert "".join(map(chr, text[1, 5:12])) == "a long " and keys[1, 4] == CURSOR
    # never over another label or the cursor
    keys[0, 3] = CURSOR
    keys[0, 4:] = LABEL
    keys[0, :3] = 1
    assert not _place_label(text, keys, 0, 2, "zz", LABEL, force=True)


@pytest.mark.parametrize("mode", ["truecolor", "16", "mono"])
def test_edges_draw_under_the_points_brighter_when_stronger(mode):
    async def test(app, scatter, pilot):
        scatter.palette_mode = mode
        scatter.show_cursor_label = False
        before = cells(scatter)
        # far up-right to far down-left: through the cells of points 0 (the centre) and more
        scatter.set_edges([5], [6], [1.0])
        await pilot.pause()
        grid = cells(scatter)
        edge = scatter._style_table(scatter._mode())[1:1 + EDGE_BANDS]
        # the frame's style keys 1..EDGE_BANDS are the lines' (key 0: empty)
        keys = scatter._frame_keys
        lines = list(zip(*np.nonzero((keys >= 1) & (keys <= EDGE_BANDS)), strict=True))
        assert len(lines) > 20 and all(is_braille(grid[r][c][0]) for r, c in lines)
        assert {grid[r][c][1] for r, c in lines} == {edge[-1]}   # strength 1: the top band
        # points keep their cells: the line leaves them as they were
        for i in range(len(POINTS)):
            col, row = cell_at(scatter, i)
            assert grid[row][col] == before[row][col]
        # every cell the line changed was empty
        changed = [(r, c) for r in range(24) for c in range(80) if grid[r][c] != before[r][c]]
        assert sorted(changed) == sorted(lines)
        assert all(before[r][c][0] == " " for r, c in changed)
        scatter.set_edges([5], [6], [0.0])
        await pilot.pause()
        weak = cells(scatter)
        assert {weak[r][c][1] for r, c in lines} == {edge[0]}
        assert edge[0] != edge[-1]
        if mode == "mono":
            # no colour of their own (the app filters out the base colour under NO_COLOR)
            assert edge[0].dim and edge[-1].bold and edge[0].color == scatter.rich_style.color
        scatter.set_edges(None)
        await pilot.pause()
        assert cells(scatter) == before and scatter.edges is None
        with pytest.raises(ValueError, match="out of range"):
            scatter.set_edges([0], [len(POINTS)])
        with pytest.raises(ValueError, match="one entry per line"):
            scatter.set_edges([0, 1], [1, 2], [0.5])
    run(test)


def test_edges_follow_the_view_and_draw_beside_group_symbols():
    async def test(app, scatter, pilot):
        scatter.set_edges([1, 2], [3, 4])
        await pilot.pause()
        key = scatter._edge_key
        fitted = scatter._current_edges().bits.copy()
        scatter.zoom(2.0)
        await pilot.pause()
        assert scatter._edge_key != key
        assert not (scatter._current_edges().bits == fitted).all()
        scatter.marks = "groups"
        await pilot.pause()
        text = "".join(ch for row in cells(scatter) for ch, _ in row)
        assert any(is_braille(ch) for ch in text)   # lines stay braille among the symbols
        scatter.set_points(POINTS[:3])   # other points: the lines indexed the old ones
        assert scatter.edges is None
    run(test)


def _text(scatter: Scatter) -> list[str]:
    return ["".join(ch for ch, _ in row) for row in cells(scatter)]


def test_region_names_sit_centred_on_their_point_in_their_style():
    async def test(app, scatter, pilot):
        scatter.show_cursor_label = False
        scatter.set_regions([0.0, 6.0], [0.0, 5.0], ["centre", "far \x1b[31mred"])
        await pilot.pause()
        assert scatter.regions_drawn == ["centre", "far ␛[31mred"]
        col, row = cell_at(scatter, 0)
        line = _text(scatter)[row]
        start = line.index("centre")
        assert start <= col < start + len("centre") and abs(start + 3 - col) <= 1
        style = cells(scatter)[row][start][1]
        region = scatter.get_component_rich_style("scatter--region", partial=True)
        assert style.bold and style.bgcolor == region.bgcolor
        assert "\x1b" not in "".join(_text(scatter))
        scatter.set_regions(None)
        await pilot.pause()
        assert scatter.regions_drawn == [] and "centre" not in "".join(_text(scatter))
    run(test)


def test_region_names_never_overlap_and_the_first_wins():
    async def test(app, scatter, pilot):
        scatter.show_cursor_label = False
        # three names on almost the same spot: the first placed, the next moves a row or
        # is left out, never written over it
        scatter.set_regions([0.0, 0.05, 0.1], [0.0, 0.0, 0.05],
                            ["first region", "second region", "third region"])
        await pilot.pause()
        drawn = scatter.regions_drawn
        assert drawn[0] == "first region"
        text = "\n".join(_text(scatter))
        for name in drawn:
            assert text.count(name) == 1
        rows = [i for i, line in enumerate(_text(scatter)) if "region" in line]
        assert len(rows) == len(drawn)  # one name a line around here: none side by side
    run(test)


def test_the_cursor_label_wins_over_a_region_name():
    async def test(app, scatter, pilot):
        scatter.set_cursor(0)
        scatter.set_regions([0.0], [0.0], ["a region right here"])
        await pilot.pause()
        text = "\n".join(_text(scatter))
        assert "p0" in text
        if "a region right here" in text:  # moved off the cursor's row, never over it
            col, row = cell_at(scatter, 0)
            assert "a region right here" not in _text(scatter)[row]
    run(test)


def test_small_regions_unnamed_and_zooming_in_places_names_again():
    async def test(app, scatter, pilot):
        scatter.show_cursor_label = False
        scatter.set_regions([0.0, 6.0, -6.0], [0.0, 5.0, -5.0], ["big", "tiny", "small"],
                            sizes=[100, 2, 3])
        await pilot.pause()
        assert scatter.regions_drawn == ["big", "small"]  # under REGION_MIN_SIZE: unnamed
        scatter.zoom(4, anchor=(0.0, 0.0))
        await pilot.pause()
        assert scatter.regions_drawn == ["big"]  # the others are out of view now
        col, row = cell_at(scatter, 0)
        assert "big" in _text(scatter)[row]
    run(test)


def test_at_most_one_region_name_per_few_rows():
    from tui.widgets.scatter import REGION_ROWS

    async def test(app, scatter, pilot):
        scatter.show_cursor_label = False
        n = 40
        xs = np.linspace(-6, 6, n)
        scatter.set_regions(xs, np.linspace(-5, 5, n), [f"r{i}" for i in range(n)])
        await pilot.pause()
        assert 1 <= len(scatter.regions_drawn) <= 24 // REGION_ROWS
    run(test)


def test_weights_brighten_the_cells_of_heavy_points():
    async def test(app, scatter, pilot):
        scatter.show_cursor_label = False
        far_a, far_b = cell_at(scatter, 5), cell_at(scatter, 6)
        grid = cells(scatter)
        assert grid[far_a[1]][far_a[0]][1] == grid[far_b[1]][far_b[0]][1]  # one point each
        w = np.ones(len(POINTS))
        w[5] = 20.0
        scatter.set_weights(w)
        await pilot.pause()
        grid = cells(scatter)
        assert grid[far_a[1]][far_a[0]][1] != grid[far_b[1]][far_b[0]][1]
        with pytest.raises(ValueError, match="weights"):
            scatter.set_weights(np.ones(3))
        scatter.set_weights(None)
        await pilot.pause()
        grid = cells(scatter)
        assert grid[far_a[1]][far_a[0]][1] == grid[far_b[1]][far_b[0]][1]
    run(test)
