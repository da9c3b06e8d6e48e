"""SQL text built together with its positional parameters, for the named raw-SQL modules
(`funnel/sql/`, `pipeline/sql/`) that assemble a statement from pieces."""

from django.db import connection


class Sql:
    """SQL text and its positional parameters, built together so they stay in order."""

    def __init__(self, text="", *params):
        self.parts, self.params = [], []
        if text:
            self.add(text, *params)

    def add(self, text, *params):
        self.parts.append(text)
        self.params.extend(params)
        return self

    def extend(self, other):
        self.parts += other.parts
        self.params += other.params
        return self

    @property
    def text(self):
        return "".join(self.parts)

    def run(self):
        """Execute on the default connection and return every row."""
        with connection.cursor() as cursor:
            cursor.execute(self.text, self.params)
            return cursor.fetchall()
