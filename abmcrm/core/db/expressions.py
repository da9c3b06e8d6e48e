"""ORM expressions the database backends spell differently."""

from django.db.models import FloatField, Func


class EpochSeconds(Func):
    """Seconds since 1970 of a datetime column, as a double."""

    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)
