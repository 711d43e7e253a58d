"""SLPA's overlapping memberships through the build, the store (schema 2, and the upgrade of a
version-1 file) and the Python API, on two groups joined by a bridge entity."""

import hashlib
import shutil

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.dataset import Dataset
from engine.errors import InputError
from engine.pipeline import BuildOptions, build
from engine.store import Store
from sample_data.fixtures import bridge_table

OPT = BuildOptions(k=10, layouts=(), communities=("label-propagation", "slpa"))


@pytest.fixture(scope="module")
def bridge_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("bridge")
    src = root / "bridge.parquet"
    pq.write_table(bridge_table(), src)
    out = root / "bridge.duckdb"
    build(src, out, OPT)
    return src, out


def test_the_bridge_belongs_to_both_groups(bridge_dataset):
    _, out = bridge_dataset
    with Dataset.open(out) as ds:
        b = ds.resolve("bridge")
        labels, strength = ds.community_labels("slpa")  # the top community, as before
        left, right = labels[:b], labels[b + 1:]
        assert len(set(left)) == 1 and len(set(right)) == 1 and left[0] != right[0]
        mine = ds.communities_of(b, "slpa")
        assert {c for c, _ in mine} == {int(left[0]), int(right[0])}
        assert mine[0] == (int(labels[b]), pytest.approx(float(strength[b])))
        assert [s for _, s in mine] == sorted((s for _, s in mine), reverse=True)
        m = ds.community_memberships("slpa")
        assert m.entity.dtype == np.int32 and m.strength.dtype == np.float32
        assert len(m.entity) == ds.n + 1  # everyone once, the bridge twice
        view = ds.clusters(method="slpa")
        assert view.overlapping and len(view) == 2
        assert all(view.contains(c, b) for c in range(2))
        assert sorted(len(view.members(c)) for c in range(2)) == [11, 11]
        assert view.count[b] == 2 and (np.delete(view.count, b) == 1).all()
        # another method keeps one community per entity
        assert not ds.clusters(method="label-propagation").overlapping
        assert len(ds.community_memberships("label-propagation").entity) == ds.n
        with pytest.raises(InputError, match="no communities 'kmeans'"):
            ds.community_memberships("kmeans")


def _as_version_1(path):
    """What a version-1 build wrote: no community_members, schema_version 1."""
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE community_members")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_a_version_1_file_is_read_without_writing(bridge_dataset, tmp_path):
    _, out = bridge_dataset
    old = tmp_path / "v1.duckdb"
    shutil.copyfile(out, old)
    _as_version_1(old)
    before = _digest(old)
    with Dataset.open(old) as ds:
        labels, strength = ds.community_labels("slpa")
        m = ds.community_memberships("slpa")
        keep = labels >= 0
        np.testing.assert_array_equal(m.entity, np.flatnonzero(keep))  # one per entity
        np.testing.assert_array_equal(m.community, labels[keep])
        np.testing.assert_array_equal(m.strength, strength[keep])
        assert ds.has("communities:slpa")
    assert _digest(old) == before
    with Store.open(old) as store:
        assert store.meta()["schema_version"] == "1"


def test_a_version_1_file_is_upgraded_in_place_when_opened_for_writing(bridge_dataset,
                                                                        tmp_path):
    src, out = bridge_dataset
    old = tmp_path / "v1.duckdb"
    shutil.copyfile(out, old)
    _as_version_1(old)
    with Store.open(old) as store:
        tables = {t: store.arrow(f"SELECT * FROM {t} ORDER BY ALL")
                  for t in store.table_names()}
        steps = store.steps()
    with Store.open(old, read_only=False) as store:
        assert store.schema_version() == 2  # one embedding: version 3 adds nothing it needs
    with Store.open(old) as store:
        for name, rows in tables.items():  # nothing lost
            if name not in ("meta", "steps"):
                assert store.arrow(f"SELECT * FROM {name} ORDER BY ALL").equals(rows), name
        upgraded = store.steps()
        members = store.numpy("SELECT method, idx, community, strength FROM community_members "
                              "ORDER BY method, idx")
        communities = store.numpy("SELECT method, idx, community, strength FROM communities "
                                  "WHERE community >= 0 ORDER BY method, idx")
    for col in members:
        np.testing.assert_array_equal(members[col], communities[col])
    # the slpa step says it holds top labels only: still read, recomputed by the next build
    assert upgraded["communities:slpa"].params["memberships"] == "top only (schema 1)"
    assert {n: s.key for n, s in upgraded.items() if n != "communities:slpa"} == \
        {n: s.key for n, s in steps.items() if n != "communities:slpa"}
    with Dataset.open(old) as ds:
        assert ds.has("communities:slpa") and ds.has("communities:label-propagation")
        assert len(ds.community_memberships("slpa").entity) == ds.n
    report = build(src, old, OPT)
    assert report.computed == ["communities:slpa"]
    with Dataset.open(old) as ds:
        assert len(ds.communities_of(ds.resolve("bridge"), "slpa")) == 2
    assert build(src, old, OPT).computed == []


def test_a_failed_upgrade_leaves_the_file_at_version_1(bridge_dataset, tmp_path, monkeypatch):
    _, out = bridge_dataset
    old = tmp_path / "v1.duckdb"
    shutil.copyfile(out, old)
    _as_version_1(old)

    def fail(self, values):
        raise RuntimeError("disk gone")
    monkeypatch.setattr(Store, "_set_meta", fail)
    with pytest.raises(RuntimeError, match="disk gone"):
        Store.open(old, read_only=False)
    monkeypatch.undo()
    with Store.open(old) as store:
        assert store.meta()["schema_version"] == "1"
        assert "community_members" not in store.table_names()


def test_slpa_options_change_the_memberships(bridge_dataset, tmp_path):
    src, _ = bridge_dataset
    out = tmp_path / "strict.duckdb"
    build(src, out, BuildOptions(k=10, layouts=(), communities=("slpa",), slpa_r=0.9))
    with Dataset.open(out) as ds:
        assert ds.steps["communities:slpa"].params["r"] == 0.9
        assert len(ds.communities_of(ds.resolve("bridge"), "slpa")) == 1
    for bad, message in (({"slpa_r": 0.0}, "--slpa-r is a share"),
                         ({"slpa_r": 1.5}, "--slpa-r is a share"),
                         ({"slpa_iterations": 0}, "--slpa-iterations must be"),
                         ({"slpa_r": 0.2, "communities": ("label-propagation",)},
                          "apply to --communities slpa only")):
        opt = BuildOptions(k=10, layouts=(), **{"communities": ("slpa",), **bad})
        with pytest.raises(InputError, match=message):
            build(src, tmp_path / "bad.duckdb", opt)
        assert not (tmp_path / "bad.duckdb").exists()
