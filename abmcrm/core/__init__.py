"""The shared core of abmcrm (app label `abmcore`): settings, roles, permissions, errors,
ids, the API building blocks, the bulk and CSV ingest machinery, background jobs and the SQL
helpers every domain app uses. It knows no domain: nothing here imports `tiers`, `programs`
or `funnel`; they build on it."""
