"""Bulk and CSV ingest: the machinery every kind of row (accounts, contacts, signals, events,
leads, transitions…) goes through. See `base` (validation), `upsert` (writes), `registry`,
`bulk` (the bulk endpoints' service) and `imports` (CSV import jobs)."""

from .base import MAX_BULK_ITEMS, Ingester, IngestResult, errors_text, flatten_errors
from .bulk import bulk_ingest
from .imports import ImportFileError, import_run, import_start
from .registry import get_ingester, kinds, register
from .upsert import Upsert, dedupe, stage_changes, write_changes

__all__ = [
    "MAX_BULK_ITEMS", "ImportFileError", "IngestResult", "Ingester", "Upsert", "bulk_ingest",
    "dedupe", "errors_text", "flatten_errors", "get_ingester", "import_run", "import_start",
    "kinds", "register", "stage_changes", "write_changes",
]
