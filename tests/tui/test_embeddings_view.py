"""The explorer on a file's second embedding, which holds only some of the entities."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.pipeline import BuildOptions, build

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def partial_embedding(tmp_path_factory, vectors_dataset, vectors_parquet):
    """The vectors fixture plus embedding "half": 30 of its 60 entities, reshuffled."""
    d = tmp_path_factory.mktemp("partial")
    out = d / "two.duckdb"
    shutil.copyfile(vectors_dataset, out)
    table = pq.read_table(vectors_parquet)
    held = np.sort(np.random.default_rng(2).permutation(60)[:30])
    pq.write_table(table.take(held[::-1]), d / "half.parquet")
    build(d / "half.parquet", out, BuildOptions(k=5, merge_tree="knn", embedding="half"))
    return out, held


async def test_the_explorer_opens_the_embedding_asked_for(partial_embedding, settle):
    from tui.app import EmbtuiApp
    out, held = partial_embedding
    app = EmbtuiApp(out, embedding="half")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app._exception is None
        assert app.ds.embedding == "half" and app.n == 60
        assert np.isfinite(app.xy[held]).all()
        assert np.isnan(app.xy[np.setdiff1d(np.arange(60), held)]).all()
        for key in ("right", "down", "left", "up", "right"):
            await pilot.press(key)
            await settle(pilot)
            assert app.selection is None or app.selection in held
        assert app.view is not None and len(app.view) >= 1


async def test_v_goes_on_to_the_next_embedding_and_keeps_the_selection(partial_embedding,
                                                                        settle):
    from engine.compare import procrustes_onto
    from tui.app import EmbtuiApp
    out, held = partial_embedding
    app = EmbtuiApp(out)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.ds.embedding == "default" and app.layouts == ["umap"]
        before = app.xy.copy()
        app.select(int(held[3]))
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert app.ds.embedding == "half" and app.selection == int(held[3])
        assert "half · umap" in str(app.query_one("Scatter").border_title)
        # its map is turned onto the one shown before
        assert np.allclose(app.xy, procrustes_onto(app.ds.layout("umap"), before),
                           equal_nan=True)
        assert app.view is not None and app.threshold is not None
        assert app.graph.idx.shape[0] == 60
        await pilot.press("v")
        await settle(pilot)
        assert app.ds.embedding == "default" and app._exception is None


async def test_agreement_colours_each_entity_by_its_shared_neighbours(partial_embedding,
                                                                      settle):
    from engine.compare import entity_overlap
    from tui.app import EmbtuiApp
    out, held = partial_embedding
    app = EmbtuiApp(out)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "agreement:half" in app.group_modes
        app.choose_group_mode("agreement:half")
        await settle(pilot)
        assert app.colour.mode == "agreement:half"
        with app.ds.with_embedding("half") as other:
            j = entity_overlap(app.ds, other)
        lacking = np.setdiff1d(np.arange(60), held)
        assert (app.colour.groups[lacking] == -1).all()
        assert (app.colour.groups[held] == np.clip(np.floor(j[held] * 5), 0, 4)).all()
        assert app.colour.legend[0][0] == "0–20% shared"


async def test_V_splits_the_map_into_two_linked_embeddings(partial_embedding, settle):
    from tui.app import EmbtuiApp
    from tui.widgets.scatter import Scatter
    out, held = partial_embedding
    app = EmbtuiApp(out)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        i = int(held[5])
        app.select(i)
        await settle(pilot)
        await pilot.press("V")
        await settle(pilot)
        assert app.split is not None and app.split.name == "half"
        left, right = app.query_one("#scatter", Scatter), app.query_one("#scatter-b", Scatter)
        assert right.display and "B · half · umap" in str(right.border_title)
        assert str(left.border_title).startswith("A · ")
        # one selection: each side highlights it and its own neighbours
        b_row = app.split.idx[i]
        assert set(right.highlight.tolist()) == {i, *b_row[b_row >= 0].tolist()}
        assert i in left.highlight and right.cursor == i
        # the same colours on both sides
        assert (right._groups == left._groups).all()
        # the neighbour pane lists both, marking the shared ones
        a_row = app.graph.idx[i]
        shared = len(np.intersect1d(a_row[a_row >= 0], b_row[b_row >= 0]))
        head = str(app.query_one("#nb-head").render())
        assert f"{shared} shared = default | half" in head
        # selecting on B's side moves the one selection
        right.focus()
        await pilot.press("right")
        await pilot.press("enter")
        await settle(pilot)
        assert app.selection == right.cursor and left.cursor == right.cursor
        await pilot.press("V")
        await settle(pilot)
        assert app.split is None and not right.display

