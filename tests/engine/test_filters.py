"""Filter expressions: the SQL they become, the one-line refusals, and the entities they pass
against a direct evaluation in Python (engine.filters, Dataset.where)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.dataset import Dataset
from engine.errors import InputError
from engine.filters import parse_filter
from engine.pipeline import BuildOptions, build

TYPES = {"id": "text", "label": "text", "genres": "text", "year": "number", "odd name": "text"}

ROWS = [  # id, label, genres, year
    ("1", "Toy Story", "Animation|Comedy", 1995),
    ("2", "Heat", "Action|Crime", 1995),
    ("3", "Casablanca", "Drama|Romance", 1942),
    ("4", "Alien", "Horror|Sci-Fi", 1979),
    ("5", "Airplane!", "Comedy", 1980),
    ("6", "Nosferatu", "Horror", 1922),
    ("7", "Untitled", None, None),
    ("8", "Jaws", "Action|Horror", 1975),
    ("9", "Amélie", "Comedy|Romance", 2001),
    ("10", "It's a Wonderful Life", "Drama", 1946),
]


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    rng = np.random.default_rng(0)
    src = tmp_path_factory.mktemp("filters") / "films.parquet"
    pq.write_table(pa.table({
        "id": [r[0] for r in ROWS], "label": [r[1] for r in ROWS],
        "genres": [r[2] for r in ROWS], "year": pa.array([r[3] for r in ROWS], pa.int64()),
        "vec": [rng.normal(size=4).astype(np.float32).tolist() for _ in ROWS]}), src)
    out = src.with_suffix(".duckdb")
    build(src, out, BuildOptions(kind="vectors", k=3, layouts=()))
    return out


@pytest.mark.parametrize("text, sql, params", [
    ("year >= 1990", '("year" >= ?)', (1990.0,)),
    ("genres ~ 'Comedy'", 'contains(lower(CAST("genres" AS VARCHAR)), lower(?))', ("Comedy",)),
    ("genres !~ 'it''s'", '(NOT contains(lower(CAST("genres" AS VARCHAR)), lower(?)))',
     ("it's",)),
    ("year between 1970 and 1979", '("year" BETWEEN ? AND ?)', (1970.0, 1979.0)),
    ("year not in (1, 2.5)", '("year" NOT IN (?, ?))', (1.0, 2.5)),
    ("year is not null", '("year" IS NOT NULL)', ()),
    ('"odd name" = \'x\'', '(CAST("odd name" AS VARCHAR) = ?)', ("x",)),
    ("NOT (year < 1 OR year > 2) AND label = 'a'",
     '((NOT (("year" < ?) OR ("year" > ?))) AND (CAST("label" AS VARCHAR) = ?))',
     (1.0, 2.0, "a")),
])
def test_the_sql_is_built_from_names_and_placeholders(text, sql, params):
    f = parse_filter(text, TYPES)
    assert f.sql.strip("()") == sql.strip("()") and f.params == params


@pytest.mark.parametrize("text, message", [
    ("", "the expression is empty"),
    ("year > 1990; DROP TABLE entities", "unexpected ';' at character 12"),
    ("year > 1990 OR 1=1", "expected a column name at character 16"),
    ("year > 1990) OR (1=1", "unexpected ')' at character 12"),
    ("label = 'x' --", "unexpected '-' at character 13"),
    ("lower(label) = 'x'", "no column 'lower'"),  # no function calls
    ("label = 'a' label", "unexpected 'label' at character 13; a filter is one expression"),
    ("year > 'x'", "'year' holds numbers; compare it with a number"),
    ("label = 3", "'label' holds text; quote the value: '3'"),
    ("year ~ '19'", "~ tests text; 'year' holds numbers"),
    ("title = 'x'", "no column 'title' (columns: genres, id, label, odd name, year)"),
    ("year >", "the expression ends where more was expected"),
    ("year not like 'x'", "expected 'in' or 'between' after 'not'"),
    ("label = 'unclosed", "unexpected \"'\" at character 9"),
    ("(year > 1", "the expression ends where ')' was expected"),
])
def test_bad_expressions_are_refused_in_one_line(text, message):
    with pytest.raises(InputError) as err:
        parse_filter(text, TYPES)
    assert message in str(err.value) and "\n" not in str(err.value)


def direct(pred):
    return np.array([bool(pred(*r)) for r in ROWS])


@pytest.mark.parametrize("text, pred", [
    ("genres ~ 'comedy' and year >= 1990",
     lambda i, lab, g, y: g is not None and "comedy" in g.lower() and y is not None and y >= 1990),
    ("genres !~ 'horror'", lambda i, lab, g, y: g is not None and "horror" not in g.lower()),
    ("year between 1970 and 1979 or year is null",
     lambda i, lab, g, y: y is None or 1970 <= y <= 1979),
    ("not year > 1950", lambda i, lab, g, y: y is not None and not y > 1950),
    ("label in ('Heat', 'Jaws') or id = '3'",
     lambda i, lab, g, y: lab in ("Heat", "Jaws") or i == "3"),
    ("label ~ 'É'", lambda i, lab, g, y: "é" in lab.lower()),
    ("label = 'It''s a Wonderful Life'", lambda i, lab, g, y: lab == "It's a Wonderful Life"),
    ("year <> 1995 AND (genres ~ 'a')",
     lambda i, lab, g, y: y is not None and y != 1995 and g is not None and "a" in g.lower()),
])
def test_where_passes_what_a_direct_evaluation_passes(films, text, pred):
    with Dataset.open(films) as ds:
        order = [ds.ids.tolist().index(r[0]) for r in ROWS]
        mask = ds.where(text)
        np.testing.assert_array_equal(mask[order], direct(pred))


def test_a_value_cannot_become_sql(films):
    before = films.read_bytes()
    with Dataset.open(films) as ds:
        assert not ds.where("label = 'x''; DELETE FROM entities; --'").any()
        assert ds.where("label ~ ''") .sum() == len(ROWS)  # every label contains ''
        assert ds.n == len(ROWS)
    assert films.read_bytes() == before
