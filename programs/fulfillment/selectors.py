"""Reads for the fulfillment queue (page and API)."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from abmcrm.core import roles

from ..models import Fulfillment, ProgramOrder

Status = ProgramOrder.Status
QUEUE_STATUSES = (Status.APPROVED, Status.IN_PROGRESS)
# What the queue's status filter offers: the queue itself, and failed orders to retry.
FILTER_STATUSES = (Status.APPROVED, Status.IN_PROGRESS, Status.FAILED)


def fulfillment_queue():
    """Orders with everything a queue row shows, in a fixed number of queries: one for the
    rows and one for their fulfillments. Oldest due first."""
    return (
        ProgramOrder.objects.select_related(
            "account", "tier", "item", "item__campaign", "contact", "requested_by", "assignee"
        )
        .prefetch_related(Prefetch(
            "fulfillments",
            queryset=Fulfillment.objects.order_by("-round", "-id").only(
                "id", "order_id", "provider", "round", "state", "external_id", "attempts",
                "last_error", "dispatched_at",
            ),
        ))
        .order_by("due_at", "approved_at", "id")
    )


def fulfillment_counts(*, now=None):
    """{status: count} for the queue's statuses, plus overdue and waiting to be sent, in two
    queries whatever the size of the queue."""
    now = now or timezone.now()
    counts = ProgramOrder.objects.filter(status__in=FILTER_STATUSES).aggregate(
        **{status.value: Count("id", filter=Q(status=status)) for status in FILTER_STATUSES},
        overdue=Count("id", filter=Q(status__in=QUEUE_STATUSES, due_at__lt=now)),
    )
    counts["waiting_to_be_sent"] = Fulfillment.objects.filter(
        order__status__in=QUEUE_STATUSES, state=Fulfillment.State.PENDING,
        dispatched_at__isnull=True,
    ).count()
    return counts


def fulfillment_assignees():
    """The people who may work the queue: marketers and admins."""
    return (
        get_user_model().objects.filter(
            Q(groups__name__in=[roles.MARKETER, roles.ABM_ADMIN]) | Q(is_superuser=True),
            is_active=True,
        ).distinct().order_by("username").only("id", "username")
    )
