"""A `get(pk=…)` whose SQL is compiled once per process, for a read that runs in every task
of a hot path.

Django compiles a queryset's SQL on every evaluation. For a `select_related` join of five
tables that costs more CPU than the database takes to run it: in the fulfilment send task it
was about a third of the task's own CPU per order. A `CompiledGet` compiles its queryset
once per thread and database alias and then only binds the primary key, executes the same
SQL text (which PostgreSQL's server-side binding also prepares once) and builds the
instances with the ORM's own converters and related-object populators, so the result is the
same as `queryset.filter(pk=pk).first()`.
"""

import threading

from django.db import connections
from django.db.models.query import get_related_populators

# Bound in place of the primary key while compiling, then found among the parameters.
_PK = -7_406_202_611


class _Compiled:
    def __init__(self, queryset, connection):
        using = connection.alias
        compiler = queryset.filter(pk=_PK).query.get_compiler(using=using)
        self.sql, params = compiler.as_sql()
        if list(params).count(_PK) != 1:
            raise ValueError("CompiledGet needs a queryset whose only lookup is the primary key "
                             "it is given.")
        self.params, self.pk_index = list(params), list(params).index(_PK)
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
    primary key, or None. The queryset is built lazily (models may not be ready at import)
    and may select related objects; it must have no lookups of its own."""

    def __init__(self, queryset):
        self._queryset = queryset
        self._local = threading.local()  # a thread's connection is its own

    def __call__(self, pk, *, using="default"):
        connection = connections[using]
        cache = self._local.__dict__.setdefault("compiled", {})
        compiled = cache.get(using)
        if compiled is None or compiled.connection is not connection:
            compiled = cache[using] = _Compiled(self._queryset(), connection)
        return compiled.get(pk)
