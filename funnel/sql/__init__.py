"""The funnel's raw SQL, by statement family: `moves` (state compare-and-set, entries,
transitions appended), `report` (the dual-funnel report) and `roi` (campaign ROI). Table and
column names come from the models' `_meta` (`abmcrm.core.db.names`)."""
