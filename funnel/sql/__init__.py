"""The funnel's raw SQL, by statement family: `moves` (state compare-and-set, entries,
transitions appended) and `report` (the dual-funnel report). Table and column names come
from the models' `_meta` (`abmcrm.core.db.names`)."""
