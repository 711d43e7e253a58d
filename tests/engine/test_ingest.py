import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.errors import InputError
from engine.ingest import read_collections, read_vectors


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_parquet_list_column_with_metadata(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(4, 3) + 1
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c", "d"], "name": ["A", None, "", "D"],
                             "genre": ["x", "y", "x", "y"], "emb": list(X)}), path)
    got = read_vectors(path)
    assert got.kind == "vectors"
    np.testing.assert_array_equal(got.vectors, X)
    assert got.entities.column("label").to_pylist() == ["A", "b", "c", "D"]  # missing → id
    assert got.entities.column("genre").to_pylist() == ["x", "y", "x", "y"]
    assert got.entities.column("idx").to_pylist() == [0, 1, 2, 3]


def test_csv_numeric_columns_and_explicit_names(tmp_path):
    path = write(tmp_path, "v.csv", "key,title,a,b\n7,seven,1,0\n8,eight,0,1\n")
    got = read_vectors(path, id_col="key", label_col="title")
    assert got.entities.column("id").to_pylist() == ["7", "8"]
    np.testing.assert_array_equal(got.vectors, [[1, 0], [0, 1]])


def test_jsonl_and_npy_with_labels(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "vec": [i + 1, 1.0]}) for i in range(3)))
    assert read_vectors(path).vectors.shape == (3, 2)
    np.save(tmp_path / "v.npy", np.ones((3, 4)))
    (tmp_path / "labels.txt").write_text("x\ny\nz\n")
    got = read_vectors(tmp_path / "v.npy", labels_file=str(tmp_path / "labels.txt"))
    assert got.entities.column("label").to_pylist() == ["x", "y", "z"]
    assert got.entities.column("id").to_pylist() == ["0", "1", "2"]


@pytest.mark.parametrize("text, kwargs, message", [
    ("id,a,b\n1,1,2\n1,3,4\n", {}, "duplicate ids: '1'"),
    ("id,a,b\n1,nan,2\n2,3,4\n", {}, "NaN or infinite values in the vectors of ids '1'"),
    ("id,a,b\n1,inf,2\n2,3,4\n", {"metric": "euclidean"}, "NaN or infinite"),
    ("id,a,b\n1,0,0\n2,3,4\n", {}, "zero vectors have no cosine similarity: ids '1'"),
    ("id,a,b\n1,1,2\n", {"vector_col": "nope"}, "no vector column 'nope'"),
    ("id,a,b\n1,1,2\n", {"id_col": "key"}, "no id column 'key'"),
    ("id,a,b\n", {}, "has no rows"),
    ("id,a\n1,x\n", {}, "no vector column"),
])
def test_bad_vectors(tmp_path, text, kwargs, message):
    path = write(tmp_path, "v.csv", text)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        read_vectors(path, **kwargs)


def test_zero_vector_allowed_under_euclidean(tmp_path):
    path = write(tmp_path, "v.csv", "id,a,b\n1,0,0\n2,3,4\n")
    assert read_vectors(path, metric="euclidean").n == 2


def test_ragged_and_non_numeric_lists(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"id": "a", "v": [1, 2, 3]}) + "\n"
                    + json.dumps({"id": "b", "v": [1, 2]}) + "\n")
    with pytest.raises(InputError, match="ragged vectors: id 'a' has 3 values, id 'b' has 2"):
        read_vectors(path)
    path.write_text(json.dumps({"id": "a", "v": ["x", "y"]}) + "\n")
    with pytest.raises(InputError, match="non-numeric vectors in column 'v'"):
        read_vectors(path)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_vectors(tmp_path / "missing.parquet")
    with pytest.raises(InputError, match="unknown input format"):
        read_vectors(write(tmp_path, "v.xlsx", "x"))


def test_collections_dense_ids_min_count_and_duplicates(tmp_path):
    path = write(tmp_path, "c.csv", "basket,product,qty\nb1,milk,1\nb1,bread,2\nb2,milk,1\n"
                 "b2,eggs,3\nb3,milk,1\nb3,bread,1\nb3,bread,5\n")
    got = read_collections(path, collection_col="basket", entity_col="product",
                           weight_col="qty", min_count=2)
    assert got.entities.column("id").to_pylist() == ["bread", "milk"]  # eggs: 1 basket
    assert got.entities.column("weight").to_pylist() == [2.0, 3.0]
    rows = sorted(zip(*[got.memberships.column(c).to_pylist()
                        for c in ("collection", "idx", "weight")], strict=True))
    assert rows == [("b1", 0, 2.0), ("b1", 1, 1.0), ("b2", 1, 1.0), ("b3", 0, 5.0),
                    ("b3", 1, 1.0)]  # bread twice in b3: once, max weight
    assert got.n_collections == 3


def test_collections_bad_input(tmp_path):
    empty = write(tmp_path, "e.csv", "collection,entity\n")
    with pytest.raises(InputError, match="empty collection file"):
        read_collections(empty)
    path = write(tmp_path, "c.csv", "basket,product\nb1,milk\n")
    with pytest.raises(InputError, match="no entity column 'entity'"):
        read_collections(path, collection_col="basket")
    with pytest.raises(InputError, match="no entity is in at least 3 collections"):
        read_collections(path, collection_col="basket", entity_col="product", min_count=3)


def test_mixed_type_jsonl_columns_are_text_as_written(tmp_path):
    path = tmp_path / "m.jsonl"
    rows = [{"id": "a", "label": "Movie 1", "year": "1999", "tags": ["x", 1], "vec": [1, 0]},
            {"id": "b", "label": 3, "year": 2001, "tags": ["y"], "vec": [0, 1]},
            {"id": "c", "label": "Movie 3", "vec": [1, 1]}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    got = read_vectors(path, vector_col="vec").entities
    assert got.column("label").to_pylist() == ["Movie 1", "3", "Movie 3"]
    assert got.column("year").to_pylist() == ["1999", "2001", None]
    assert got.column("tags").to_pylist() == [["x", "1"], ["y"], None]


def test_ids_are_read_as_written(tmp_path):
    path = tmp_path / "ids.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "vec": [1, k + 1]})
                              for k, i in enumerate([1, 2.5, 1.0, "x"])))
    assert read_vectors(path).entities.column("id").to_pylist() == ["1", "2.5", "1.0", "x"]
    path.write_text("\n".join(json.dumps({"id": i, "vec": [1, k + 1]})
                              for k, i in enumerate([1, "1"])))
    with pytest.raises(InputError, match="duplicate ids: '1'"):  # the same text: one id
        read_vectors(path)
    csv_path = write(tmp_path, "ids.csv", "id,label,a,b\n007,3.50,1,2\n1.0,x,2,1\n1,y,1,1\n")
    got = read_vectors(csv_path).entities
    assert got.column("id").to_pylist() == ["007", "1.0", "1"]
    assert got.column("label").to_pylist() == ["3.50", "x", "y"]


def test_collection_and_entity_names_are_read_as_written(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps({"collection": c, "entity": e}) for c, e in
                              [(1, "x"), (1, 1.0), ("b", 1), ("b", "x"), (2.0, "y")]))
    got = read_collections(path)
    assert sorted(got.entities.column("id").to_pylist()) == ["1", "1.0", "x", "y"]
    assert sorted(set(got.memberships.column("collection").to_pylist())) == ["1", "2.0", "b"]
