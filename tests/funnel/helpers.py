from datetime import UTC, date, datetime, timedelta

from funnel import ingesters, reports, services
from funnel.reports import ReportQuery
from tests import factories


def day(n, hour=12):
    """Day n counted from 1 January 2025 (32 is 1 February), at noon UTC."""
    return datetime(2025, 1, 1, hour, tzinfo=UTC) + timedelta(days=n - 1)


def record(items, user=None):
    batch = ingesters.transitions_record(items=items, user=user)
    assert not batch.errors, batch.errors
    return batch


def report(start, end, mode="cohort", group_by=None, side="both"):
    return reports.funnel_report(ReportQuery(start=start, end=end, mode=mode,
                                             group_by=group_by, side=side))


def reached(rep, side):
    return [row["reached"] for row in rep["sides"][side]]


def jan(n):
    return date(2025, 1, n)


def build_hand_funnel():
    """The small funnel of tests/funnel/test_reports.py (see its docstring)."""
    a1, a2, a3, a4, a5 = (factories.AccountFactory(domain=f"a{i}.example.com")
                          for i in range(1, 6))
    leads = {}
    for name, created, channel in (("l1", 1, "website"), ("l2", 2, "website"),
                                   ("l3", 3, "syndication"), ("l4", 4, "syndication")):
        leads[name] = services.lead_create(email=f"{name}@leads.example.org",
                                           created_at=day(created), channel=channel)

    def a(account, stage, n, **extra):
        return {"account": account.domain, "to_stage": stage,
                "occurred_at": day(n).isoformat(), **extra}

    def lead(name, stage, n, **extra):
        return {"lead": leads[name].email, "to_stage": stage,
                "occurred_at": day(n).isoformat(), **extra}

    record([
        a(a1, "target", 1, channel="events"), a(a1, "engaged", 3), a(a1, "qualified", 6),
        a(a1, "sql", 10), a(a1, "opportunity", 20, amount="1000"),
        a(a1, "won", 30, amount="5000"),
        a(a2, "target", 2, channel="events"), a(a2, "engaged", 4), a(a2, "sql", 8),
        a(a2, "lost", 12),
        a(a3, "target", 5, channel="outbound"), a(a3, "lost", 7),
        a(a4, "target", 3, channel="outbound"), a(a4, "engaged", 9), a(a4, "lost", 11),
        a(a4, "engaged", 15, reopen=True), a(a4, "qualified", 18),
        a(a5, "target", 35, channel="outbound"),
        lead("l1", "mql", 2), lead("l1", "sql", 5),
        lead("l1", "opportunity", 10, amount="200"), lead("l1", "won", 20, amount="300"),
        lead("l2", "lost", 4),
        lead("l3", "mql", 5), lead("l3", "lost", 9),
        lead("l4", "opportunity", 6, amount="100"), lead("l4", "lost", 16),
    ])
    return {"accounts": [a1, a2, a3, a4, a5], "leads": leads}


def first_times_from_history():
    """{(kind, entity id): {slot: first time, "won_amount": sum}} computed from the transitions
    alone, for every state row (empty when it has no transition to a slot's stage)."""
    from django.db.models import Min, Sum

    from funnel.models import AccountFunnel, Lead, StageTransition

    out = {("account", pk): {} for pk in AccountFunnel.objects.values_list("pk", flat=True)}
    out.update({("lead", pk): {} for pk in Lead.objects.values_list("pk", flat=True)})
    rows = (StageTransition.objects.filter(to_stage__slot__isnull=False)
            .values("account_id", "lead_id", "to_stage__slot")
            .annotate(first=Min("occurred_at"), amount=Sum("amount")))
    for row in rows:
        key = ("account", row["account_id"]) if row["account_id"] else ("lead", row["lead_id"])
        out.setdefault(key, {})[row["to_stage__slot"]] = row["first"]
        if row["to_stage__slot"] == "won" and row["amount"]:
            out[key]["won_amount"] = row["amount"]
    return out


def first_times_on_rows():
    """The same, read from the state rows' `reached_<slot>_at` columns."""
    from funnel.models import AccountFunnel, Lead

    out = {}
    for kind, model in (("account", AccountFunnel), ("lead", Lead)):
        fields = [f"reached_{slot}_at" for slot in model.SLOTS]
        for pk, won, *values in model.objects.values_list("pk", "won_amount", *fields):
            out[(kind, pk)] = {slot: value for slot, value in zip(model.SLOTS, values,
                                                                  strict=True) if value}
            if won:
                out[(kind, pk)]["won_amount"] = won
    return out


def assert_state_rows_follow_history():
    assert first_times_on_rows() == first_times_from_history()
