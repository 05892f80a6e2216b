"""``column IN (a list bound as one parameter)``, for statements built once.

SQLAlchemy's ``in_()`` with a list renders one placeholder per value at execution time, so the
statement's text changes with the list's length and cannot be prepared once (``kit/driver.py``).
Here the list travels as one JSON array of strings and the database unpacks it:
``json_array_elements_text`` on PostgreSQL, ``json_each`` on SQLite.
"""

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class InJsonArray(ColumnElement[bool]):
    """``column`` is one of the strings in the JSON array bound as ``name``."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any], name: str) -> None:
        self.column = column.expression if isinstance(column, QueryableAttribute) else column
        self.values = bindparam(name, type_=String())


def json_array(values: Iterable[object]) -> str:
    """The parameter's value: the values as a JSON array of strings."""
    return json.dumps([str(value) for value in values])


@compiles(InJsonArray, "postgresql")
def _in_json_array_postgresql(element: InJsonArray, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    # = ANY(ARRAY(...)) rather than IN (SELECT ...): an index scan on the column whatever the
    # planner guesses of the list's length.
    return f"{column} = ANY(ARRAY(SELECT json_array_elements_text(CAST({values} AS json))))"


@compiles(InJsonArray)
def _in_json_array(element: InJsonArray, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    # Both parts are compiled SQL: the column's name and the parameter's placeholder.
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608
