"""Indexes the database backends build differently."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.models import Index, OrderBy
from django.db.models.functions import Collate
from django.db.models.indexes import IndexExpression


class TrigramIndex(Index):
    """An index for `icontains` searches on expressions (e.g. `Upper("name")`, as Django
    spells `name__icontains` on PostgreSQL): a GIN trigram index (pg_trgm's
    `gin_trgm_ops`) on PostgreSQL, which a `LIKE '%…%'` uses instead of reading the whole
    table. Elsewhere a plain index on the same expressions: SQLite has no trigrams (nor
    tables large enough to need them), and the migration must still run there. Needs the
    pg_trgm extension (`TrigramExtension()` in the migration before it)."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        # What django.contrib.postgres's AppConfig does (the host need not install it): an
        # operator class wraps an index's expression.
        if OpClass not in IndexExpression.wrapper_classes:
            IndexExpression.register_wrappers(OrderBy, OpClass, Collate)
        gin = GinIndex(*[OpClass(expression, name="gin_trgm_ops")
                         for expression in self.expressions], name=self.name)
        return gin.create_sql(model, schema_editor, using=using, **kwargs)
