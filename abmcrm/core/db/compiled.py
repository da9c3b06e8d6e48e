"""A `get(pk=…)` whose SQL is compiled once per thread and database, for a read that runs in
every task of a hot path.

Django compiles a queryset's SQL on every evaluation. For a `select_related` join of five
tables that costs more CPU than the database takes to run it: in the fulfillment send task it
was about a third of the task's own CPU per order. A `CompiledGet` compiles its queryset
once per thread and database alias and then only binds the primary key, executes the same
SQL text (which PostgreSQL's server-side binding also prepares once) and builds the
instances with the ORM's own converters and related-object populators, so the result is the
same as `queryset.filter(pk=pk).first()`.
"""

import threading

from django.db import connections, router
from django.db.models.query import ModelIterable, get_related_populators


def _placeholder(model, connection):
    """A key value to compile with, then find among the parameters: the lowest the key's
    column takes (an out-of-range lookup would compile to no query at all)."""
    field = model._meta.pk
    low, _high = connection.ops.integer_field_range(field.get_internal_type())
    return -7_406_202_611 if low is None else low


def _check(queryset):
    query, name = queryset.query, queryset.model.__name__
    if not queryset.model._meta.pk.get_internal_type().endswith(("AutoField", "IntegerField")):
        raise TypeError(f"CompiledGet reads by integer primary key; {name}'s is not one.")
    if (query.where or query.annotation_select or queryset._prefetch_related_lookups
            or queryset._iterable_class is not ModelIterable or query.is_sliced
            or queryset._db):
        raise ValueError("CompiledGet takes a plain queryset (select_related at most): "
                         "lookups, annotations, prefetches, values(), slices and using() "
                         "would be fixed or lost at compile time.")


class _Compiled:
    def __init__(self, queryset, connection):
        using = connection.alias
        pk = _placeholder(queryset.model, connection)
        compiler = queryset.filter(pk=pk).query.get_compiler(using=using)
        self.sql, params = compiler.as_sql()
        self.params, self.pk_index = list(params), list(params).index(pk)
        self.connection, self.compiler, self.using = connection, compiler, using
        select, klass_info = compiler.select, compiler.klass_info
        self.col_count = compiler.col_count
        self.converters = compiler.get_converters([s[0] for s in select[:self.col_count]])
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, using)

    def get(self, pk):
        params = list(self.params)
        params[self.pk_index] = pk
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = row[:self.col_count]
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        obj = self.model.from_db(self.using, self.init_list, row[self.start:self.end])
        for populator in self.populators:
            populator.populate(row, obj)
        return obj


class CompiledGet:
    """`CompiledGet(lambda: Model.objects.select_related(…))(pk)`: the instance with that
    primary key, or None. The queryset is built lazily (models may not be ready at import);
    it may select related objects and nothing else (checked when first compiled). The
    database is the router's for reading the model, unless `using` names one."""

    def __init__(self, queryset):
        self._queryset = queryset
        self._model = None
        self._local = threading.local()  # a thread's connection is its own

    def __call__(self, pk, *, using=None):
        if self._model is None:
            self._model = self._queryset().model
        using = using or router.db_for_read(self._model)
        connection = connections[using]
        cache = self._local.__dict__.setdefault("compiled", {})
        compiled = cache.get(using)
        if compiled is None or compiled.connection is not connection:
            queryset = self._queryset()
            _check(queryset)
            compiled = cache[using] = _Compiled(queryset, connection)
        return compiled.get(pk)
