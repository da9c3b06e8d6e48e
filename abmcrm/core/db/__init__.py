"""Generic SQL helpers: rows as one SQL source (`rowsets`), reads compiled once
(`compiled`), backend-specific expressions and names from `_meta` (`expressions`, `names`).
Each says why it beats the ORM where it does; app-specific SQL lives in one named module
per app (`tiers/sql.py`, `programs/sql.py`, `funnel/sql/`)."""
