"""Reads of the core's own models."""

from . import roles
from .models import ImportJob


def import_job_list(*, user):
    """Marketers and admins see every import; others their own."""
    queryset = ImportJob.objects.select_related("created_by")
    if roles.is_marketer(user):
        return queryset
    return queryset.filter(created_by=user)
