"""Intent: per topic, the recent weeks' average against the account's own baseline; a topic
surges when the recent average passes the threshold and beats the baseline."""

import math
from collections import defaultdict

from django.db.models import Avg, Case, F, When

from ..models import IntentSignal


def intent_rows(account_filter, windows):
    """account_id → [(topic, recent average, baseline average or None)]."""
    rows = (
        IntentSignal.objects.filter(account_filter, week__gte=windows.intent_baseline_start,
                                    week__lte=windows.intent_end)
        .values("account_id", "topic")
        .annotate(
            recent=Avg(Case(When(week__gte=windows.intent_recent_start, then=F("score")))),
            baseline=Avg(Case(When(week__lt=windows.intent_recent_start, then=F("score")))),
        )
        .filter(recent__isnull=False)
        .order_by()
        .values_list("account_id", "topic", "recent", "baseline")
    )
    found = defaultdict(list)
    for account_id, topic, recent, baseline in rows:
        found[account_id].append(
            (topic, float(recent), None if baseline is None else float(baseline))
        )
    return found


def is_surging(recent, baseline, threshold):
    return recent >= threshold and recent > (baseline or 0.0)


def intent_summary(topics, windows):
    """(intent score, surging topics) from [(topic, recent, baseline)]: the score is the
    highest 3-week topic average; topics are listed strongest first."""
    if not topics:
        return 0, []
    score = min(100, int(math.floor(max(recent for _, recent, _ in topics) + 0.5)))
    surging = sorted(((recent, topic) for topic, recent, baseline in topics
                      if is_surging(recent, baseline, windows.threshold)),
                     key=lambda pair: (-pair[0], pair[1]))
    return score, [topic for _, topic in surging]
