"""Serializer fields every app's serializers share, for values from outside that the database
must be able to take."""

from rest_framework import serializers

from ..ids import MAX_ID
from ..text import json_problem


class IdField(serializers.IntegerField):
    """The id of a row: a positive integer within the id column's range. A larger number is a
    field error, not a value that reaches the database (OverflowError on SQLite, "out of
    range" on PostgreSQL: a 500 either way)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class StorableJSONField(serializers.JSONField):
    """A JSON value stored as it is: refused (a field error) if it nests deeper than the API
    parser takes or holds a string PostgreSQL's jsonb cannot store (a NUL, a lone
    surrogate)."""

    def to_internal_value(self, data):
        problem = json_problem(data)
        if problem:
            raise serializers.ValidationError(problem)
        return super().to_internal_value(data)
