"""A recompute walks the accounts in chunks by primary key."""

from django.db.models import Q

from ..models import Account


def account_chunks(account_ids, size):
    """Yield (Q on Account, Q on rows with an account_id, number of accounts)."""
    if account_ids is None:
        last = 0
        while True:
            ids = list(Account.objects.filter(pk__gt=last).order_by("pk")
                       .values_list("pk", flat=True)[:size])
            if not ids:
                return
            yield (Q(pk__gte=ids[0], pk__lte=ids[-1]),
                   Q(account_id__gte=ids[0], account_id__lte=ids[-1]), len(ids))
            last = ids[-1]
    else:
        ids = sorted(set(account_ids))
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            yield Q(pk__in=chunk), Q(account_id__in=chunk), len(chunk)
