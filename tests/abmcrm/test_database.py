"""The reference project's database settings."""

import pytest
from django.db import connection

from programs.models import ProgramOrder


@pytest.mark.django_db
def test_postgresql_prepares_the_statements_a_connection_repeats():
    if connection.vendor != "postgresql":
        pytest.skip("Prepared statements are a PostgreSQL setting (DATABASE_PREPARED_STATEMENTS).")
    for pk in range(6):  # psycopg prepares a statement on its fifth run
        list(ProgramOrder.objects.filter(pk=pk, note="prepared?"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    # Bound on the server ($n, not the literal) and kept prepared by PostgreSQL.
    assert any('"programs_programorder"."note" = $' in statement for statement in prepared)
