"""Database statements that several apps write the same way."""

from collections.abc import Hashable, Mapping
from typing import TypeVar

from django.db import connection, models
from django.db.models import F

K = TypeVar("K", bound=Hashable)


def add_to_column(model: type[models.Model], field: str, deltas: Mapping[K, int]) -> None:
    """Add each delta to `field` of the row whose primary key is its key.

    One statement on PostgreSQL (two array parameters, whatever the number of rows), one
    `F()` update a row elsewhere, in the mapping's order. It takes no locks beforehand: a
    caller that must lock rows in a set order (against deadlocks) locks them first.
    """
    if not deltas:
        return
    if connection.vendor != "postgresql":
        for pk, delta in deltas.items():
            model._default_manager.filter(pk=pk).update(**{field: F(field) + delta})
        return
    meta = model._meta
    target, pk_field = meta.get_field(field), meta.pk
    if not isinstance(target, models.Field) or target.column is None:
        raise TypeError(f"{model.__name__}.{field} is not a column")
    if pk_field is None or pk_field.column is None:
        raise TypeError(f"{model.__name__} has no primary key column")
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    column = quote(target.column)
    pk_column = quote(pk_field.column)
    pk_type = pk_field.db_type(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = {table}.{column} + d.delta "  # noqa: S608
            f"FROM unnest(%s::{pk_type}[], %s::bigint[]) AS d(id, delta) "
            f"WHERE {table}.{pk_column} = d.id",
            [list(deltas), list(deltas.values())],
        )
