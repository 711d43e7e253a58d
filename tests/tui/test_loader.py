"""The workers' bodies, called directly, and what the explorer does when one fails."""

from __future__ import annotations

import numpy as np
import pytest

from tui import loader
from tui import messages as msg

pytestmark = pytest.mark.anyio


def test_load_posts_the_first_frame_first(vectors_dataset):
    posted = []
    ds = loader.open_dataset(str(vectors_dataset))
    try:
        loader.load(ds, posted.append)
    finally:
        ds.close()
    kinds = [type(m) for m in posted]
    assert kinds == [msg.DatasetOpened, msg.LayoutLoaded, msg.LabelsLoaded, msg.GraphLoaded,
                     msg.ThresholdReady, msg.ClustersComputed, msg.SearchReady]
    opened, layout, _, graph, ready, clusters, _ = posted
    assert opened.n == 60 and opened.group_modes[0] == "clusters"
    assert layout.xy.shape == (60, 2)
    assert graph.graph.idx.shape[0] == 60 and graph.graph.sim_lo <= graph.graph.sim_hi
    assert clusters.view.threshold == ready.threshold and len(clusters.view) >= 3
    assert clusters.colouring is not None and len(clusters.colouring.groups) == 60
    assert len(clusters.examples) == len(clusters.view)


def test_open_failure_is_one_line(tmp_path):
    with pytest.raises(loader.OpenFailed, match="no such file"):
        loader.open_dataset(str(tmp_path / "nope.duckdb"))


class Broken:
    n = 3

    def entity(self, i):
        raise OSError("disk gone\nsecond line")

    def layout(self, name):
        raise OSError("no such layout")

    def clusters(self, **kwargs):
        raise RuntimeError("boom")


def test_failures_name_what_failed():
    posted = []
    with pytest.raises(loader.Failed, match="^layout tsne: no such layout$"):
        loader.layout(Broken(), "tsne", posted.append)
    with pytest.raises(loader.Failed, match="^clusters at 0.5: boom$"):
        loader.clusters(Broken(), 0.5, None, "clusters", posted.append)
    assert posted == []


def test_an_unreadable_entity_shows_why_in_its_row():
    posted = []
    ids, labels = np.array(["a", "b", "c"], object), np.array(["A", "B", "C"], object)
    loader.entity(Broken(), 1, ids, labels, posted.append)
    assert posted[0].index == 1
    assert posted[0].row == {"id": "b", "label": "B", "error": "disk gone"}


async def test_a_failed_worker_is_one_notification(explorer, settle, monkeypatch):
    app = explorer()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        t0 = app.threshold

        def boom(*args, **kwargs):
            raise RuntimeError("out of memory")

        monkeypatch.setattr(loader, "cluster_examples", boom)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        texts = [n.message for n in app._notifications]
        assert texts == [f"clusters at {app.threshold}: out of memory"]
        assert app.threshold != t0 and app.view.threshold == t0  # the old clusters stay
        assert app.is_running
