"""Filter expressions over the entities table: parsed here, run as one parameterised predicate.

    genres ~ 'Comedy' and year >= 1990
    (year between 1970 and 1979 or year is null) and not label ~ 'part'
    genres in ('Drama', 'Comedy|Drama') and weight > 50

The language, a subset of DuckDB's SQL expressions:

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "not" factor | "(" expr ")" | test
    test    := column op value
             | column ["not"] "in" "(" value ("," value)* ")"
             | column ["not"] "between" value "and" value
             | column "is" ["not"] "null"
    op      := = | != | <> | < | <= | > | >= | ~ | !~
    column  := a name (letters, digits, _) or "a quoted name" ("" for a quote inside);
               id, label or a metadata column of the file
    value   := a number (-12, 3.5, 1e3) or 'text' ('' for a quote inside)

`~` is case-insensitive containment of text ("genres ~ 'comedy'"), `!~` its negation; the
other operators compare as SQL does (a missing value passes no comparison but `is null`).
Keywords are case-insensitive. Numbers go with number columns and text with text columns
(`id` and `label` are text); anything else is refused in one line naming the problem.

Safety: nothing the user typed reaches SQL as text. The parse tree becomes SQL built here from
known column names (quoted) and `?` placeholders, the values passed as parameters, so no
second statement, no function call and no subquery can be written; the file is opened read-only
besides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InputError

__all__ = ["Filter", "parse_filter", "describe"]

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<text>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")+")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|!~|=|<|>|~)
  | (?P<punct>[(),])
""", re.VERBOSE)

_KEYWORDS = {"and", "or", "not", "in", "between", "is", "null"}
_SQL_OP = {"=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class Filter:
    """A parsed filter: the expression as given, the SQL predicate and its parameters."""
    text: str
    sql: str
    params: tuple
    columns: tuple[str, ...]


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: str | float
    at: int


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InputError(f"filter: unexpected {text[pos]!r} at character {pos + 1}")
        kind = m.lastgroup
        raw = m.group()
        if kind == "number":
            out.append(_Tok("number", float(raw), pos))
        elif kind == "text":
            out.append(_Tok("text", raw[1:-1].replace("''", "'"), pos))
        elif kind == "quoted":
            out.append(_Tok("column", raw[1:-1].replace('""', '"'), pos))
        elif kind == "name":
            low = raw.lower()
            out.append(_Tok(low, low, pos) if low in _KEYWORDS else _Tok("column", raw, pos))
        elif kind != "space":
            out.append(_Tok(raw, raw, pos))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, types: dict[str, str]) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.k = 0
        self.types = types  # column -> "number" | "text"
        self.params: list = []
        self.used: list[str] = []

    def peek(self) -> _Tok | None:
        return self.toks[self.k] if self.k < len(self.toks) else None

    def take(self, kind: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None:
            want = f"{kind!r}" if kind else "more"
            raise InputError(f"filter: the expression ends where {want} was expected")
        if kind is not None and tok.kind != kind:
            raise InputError(f"filter: expected {kind!r} at character {tok.at + 1}, found "
                             f"{self._shown(tok)}")
        self.k += 1
        return tok

    def _shown(self, tok: _Tok) -> str:
        return repr(tok.value) if tok.kind in ("text", "column") else f"{tok.kind!r}"

    def parse(self) -> str:
        if not self.toks:
            raise InputError("filter: the expression is empty")
        sql = self.expr()
        tok = self.peek()
        if tok is not None:
            raise InputError(f"filter: unexpected {self._shown(tok)} at character "
                             f"{tok.at + 1}; a filter is one expression")
        return sql

    def expr(self) -> str:
        parts = [self.term()]
        while self.peek() is not None and self.peek().kind == "or":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def term(self) -> str:
        parts = [self.factor()]
        while self.peek() is not None and self.peek().kind == "and":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def factor(self) -> str:
        tok = self.peek()
        if tok is not None and tok.kind == "not":
            self.take()
            return f"(NOT {self.factor()})"
        if tok is not None and tok.kind == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        return self.test()

    def column(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or tok.kind != "column":
            where = "the end" if tok is None else f"character {tok.at + 1}"
            raise InputError(f"filter: expected a column name at {where}")
        self.take()
        name = str(tok.value)
        if name not in self.types:
            raise InputError(f"filter: no column {name!r} (columns: "
                             f"{', '.join(sorted(self.types))})")
        if name not in self.used:
            self.used.append(name)
        quoted = '"' + name.replace('"', '""') + '"'
        # Text columns of other types (lists, dates, booleans) compare as their text.
        return (f"CAST({quoted} AS VARCHAR)" if self.types[name] == "text" else quoted), name

    def value(self, name: str) -> None:
        tok = self.take()
        if tok.kind not in ("number", "text"):
            raise InputError(f"filter: expected a number or 'text' at character {tok.at + 1}, "
                             f"found {self._shown(tok)}")
        kind = self.types[name]
        if kind == "number" and tok.kind != "number":
            raise InputError(f"filter: {name!r} holds numbers; compare it with a number, not "
                             f"{tok.value!r}")
        if kind == "text" and tok.kind != "text":
            raise InputError(f"filter: {name!r} holds text; quote the value: '{_num(tok.value)}'")
        self.params.append(tok.value)

    def test(self) -> str:
        col, name = self.column()
        tok = self.take()
        negate = ""
        if tok.kind == "not":
            negate = "NOT "
            tok = self.take()
            if tok.kind not in ("in", "between"):
                raise InputError(f"filter: expected 'in' or 'between' after 'not' at character "
                                 f"{tok.at + 1}")
        if tok.kind == "is":
            nt = self.peek()
            neg = nt is not None and nt.kind == "not"
            if neg:
                self.take()
            self.take("null")
            return f"({col} IS {'NOT ' if neg else ''}NULL)"
        if tok.kind == "in":
            self.take("(")
            self.value(name)
            count = 1
            while self.peek() is not None and self.peek().kind == ",":
                self.take()
                self.value(name)
                count += 1
            self.take(")")
            return f"({col} {negate}IN ({', '.join('?' * count)}))"
        if tok.kind == "between":
            self.value(name)
            self.take("and")
            self.value(name)
            return f"({col} {negate}BETWEEN ? AND ?)"
        if tok.kind in ("~", "!~"):
            if self.types[name] != "text":
                raise InputError(f"filter: {tok.kind} tests text; {name!r} holds numbers")
            self.value(name)
            test = f"contains(lower({col}), lower(?))"
            return f"({test})" if tok.kind == "~" else f"(NOT {test})"
        if tok.kind in _SQL_OP:
            self.value(name)
            return f"({col} {_SQL_OP[tok.kind]} ?)"
        raise InputError(f"filter: expected an operator after {name!r} at character "
                         f"{tok.at + 1} (= != < <= > >= ~ !~ in between is)")


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def parse_filter(text: str, types: dict[str, str]) -> Filter:
    """Parse `text` against the columns' kinds (name -> "number" or "text")."""
    if not isinstance(text, str):
        raise InputError("filter: the expression must be text")
    p = _Parser(text, types)
    sql = p.parse()
    return Filter(text, sql, tuple(p.params), tuple(p.used))


def describe(values: list[str]) -> str:
    """A text value list as the language writes it: 'a', 'b''s'."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)
