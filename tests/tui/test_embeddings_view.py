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
