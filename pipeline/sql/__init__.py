"""The pipeline's raw SQL, by statement family: `writes` (the set-based compare-and-set of
changed deals), `report` (the pipeline report), `forecast`, `attribution` (touches, weights
and the campaign ROI's lift). Table and column names come from the models' `_meta`."""
