"""The inmarket app's raw SQL, each module saying why it beats the ORM. Table and column names
come from the models' `_meta` (`abmcrm.core.db.names`); every statement runs on PostgreSQL
and SQLite (the few spellings that differ are in `dialect`)."""
