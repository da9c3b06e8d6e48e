
import pytest
from django.db import connection, transaction

from funnel import ingesters, services
from funnel.models import AccountFunnel, Lead, StageTransition
from tests import factories
from tests.conftest import fire_together
from tests.funnel.helpers import day, record
from tiers import signals

pytestmark = pytest.mark.django_db


def move(entity, stage, n, **extra):
    key = "account" if hasattr(entity, "domain") else "lead"
    ref = entity.domain if key == "account" else entity.email
    return {key: ref, "to_stage": stage, "occurred_at": day(n).isoformat(), **extra}


def errors_of(items):
    batch = ingesters.transitions_record(items=items, user=None)
    return batch, {e["index"]: e["errors"] for e in batch.errors}


class TestRefusals:
    def test_unknown_entity_and_stage(self):
        account = factories.AccountFactory()
        _, errors = errors_of([
            {"account": "nope.example.com", "to_stage": "target",
             "occurred_at": day(1).isoformat()},
            {"lead": "ghost@x.org", "to_stage": "mql", "occurred_at": day(1).isoformat()},
            move(account, "nowhere", 1),
            {"to_stage": "target", "occurred_at": day(1).isoformat()},
        ])
        assert "No account" in errors[0]["account"][0]
        assert "No lead" in errors[1]["lead"][0]
        assert "Unknown stage" in errors[2]["to_stage"][0]
        assert "exactly one" in errors[3]["non_field_errors"][0]
        assert not StageTransition.objects.exists()

    def test_stage_of_the_other_side(self):
        account = factories.AccountFactory()
        lead = services.lead_create(email="x@leads.example.org", created_at=day(1))
        _, errors = errors_of([move(account, "mql", 1), move(lead, "engaged", 2)])
        assert "demand-gen side" in errors[0]["to_stage"][0]
        assert "ABM side" in errors[1]["to_stage"][0]

    def test_terminal_needs_explicit_reopen(self):
        account = factories.AccountFactory()
        record([move(account, "target", 1), move(account, "lost", 2)])
        batch, errors = errors_of([move(account, "engaged", 3)])
        assert "reopen" in errors[0]["to_stage"][0]
        record([move(account, "engaged", 3, reopen=True)])
        state = AccountFunnel.objects.get(account=account)
        assert state.stage.slug == "engaged" and state.previous_stage.slug == "lost"
        assert StageTransition.objects.filter(account=account, is_reopen=True).count() == 1

    def test_reopen_only_for_closed(self):
        account = factories.AccountFactory()
        record([move(account, "target", 1)])
        _, errors = errors_of([move(account, "engaged", 2, reopen=True)])
        assert "Only a won or lost" in errors[0]["reopen"][0]

    def test_from_stage_must_be_current(self):
        account = factories.AccountFactory()
        record([move(account, "target", 1)])
        _, errors = errors_of([move(account, "sql", 2, from_stage="engaged")])
        assert "at “target”, not at “engaged”" in errors[0]["from_stage"][0]
        record([move(account, "sql", 2, from_stage="target")])

    def test_out_of_order_is_refused(self):
        account = factories.AccountFactory()
        record([move(account, "target", 5)])
        _, errors = errors_of([move(account, "engaged", 4)])
        assert "Out-of-order" in errors[0]["occurred_at"][0]
        # Within one batch too: the later row is checked against the earlier one.
        other = factories.AccountFactory()
        batch, errors = errors_of([move(other, "target", 5), move(other, "engaged", 3)])
        assert batch.created == 1 and 1 in errors

    def test_same_stage_and_lost_before_entering(self):
        account = factories.AccountFactory()
        _, errors = errors_of([move(account, "lost", 1)])
        assert "not in the funnel yet" in errors[0]["to_stage"][0]
        record([move(account, "target", 1)])
        _, errors = errors_of([move(account, "target", 2)])
        assert "already at" in errors[0]["to_stage"][0]

    def test_amount_only_for_opportunity_and_won(self):
        account = factories.AccountFactory()
        _, errors = errors_of([move(account, "target", 1, amount="10")])
        assert "opportunity or won" in errors[0]["amount"][0]

    def test_valid_rows_land_when_others_fail(self):
        account = factories.AccountFactory()
        batch, errors = errors_of([move(account, "target", 1), move(account, "mql", 2),
                                   move(account, "engaged", 3)])
        assert batch.created == 2 and list(errors) == [1]
        assert AccountFunnel.objects.get(account=account).stage.slug == "engaged"


class TestIdempotency:
    def test_retry_returns_first_result(self):
        account = factories.AccountFactory()
        first = record([move(account, "target", 1, external_id="crm-1")])
        again = record([move(account, "target", 1, external_id="crm-1")])
        assert again.created == 0 and again.unchanged == 1
        assert again.results[0]["id"] == first.results[0]["id"]
        assert StageTransition.objects.count() == 1
        assert AccountFunnel.objects.get(account=account).version == 1

    def test_duplicate_external_id_in_one_request(self):
        account = factories.AccountFactory()
        batch, errors = errors_of([move(account, "target", 1, external_id="x"),
                                   move(account, "engaged", 2, external_id="x")])
        assert batch.created == 1 and "Duplicate external_id" in errors[1]["external_id"][0]


class TestBatches:
    def _leads(self, n, prefix):
        factories.AccountFactory(domain=f"{prefix}.example.com")  # the leads match it
        return [services.lead_create(email=f"l{i}@{prefix}.example.com", created_at=day(1))
                for i in range(n)]

    def _moves(self, leads, user):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        items = [{"lead": str(lead.pk), "to_stage": "mql", "occurred_at": day(2).isoformat(),
                  "external_id": f"m-{lead.pk}"} for lead in leads]
        with CaptureQueriesContext(connection) as queries:
            batch = record(items, user=user)
        return batch, len(queries)

    def test_lead_moves_take_the_same_queries_for_1_and_40_leads(self):
        # Each lead's transition event names its account: read with the lead, never one
        # query a lead.
        user = factories.MarketerFactory()
        _, one = self._moves(self._leads(1, "one"), user)
        _, forty = self._moves(self._leads(40, "forty"), user)
        assert forty == one

    def test_each_result_names_its_own_transition(self):
        user = factories.MarketerFactory()
        leads = self._leads(30, "ids")
        batch, _ = self._moves(leads, user)
        # In the order of the items (the batch collects them entity by entity).
        results = batch.as_dict()["results"]
        assert batch.created == 30 and [r["index"] for r in results] == list(range(30))
        recorded = StageTransition.objects.in_bulk([r["id"] for r in results])
        for result, lead in zip(results, leads, strict=True):
            transition = recorded[result["id"]]
            assert (transition.lead_id, transition.external_id) == (lead.pk, f"m-{lead.pk}")
            assert transition.from_stage.slug == "inquiry" and transition.to_stage.slug == "mql"
            assert transition.recorded_by_id == user.pk and transition.created_at is not None
        assert batch.transition(5) == recorded[results[5]["id"]]
        assert Lead.objects.filter(stage__slug="mql").count() == 30


class TestLeads:
    def test_lead_matched_by_domain_enters_inquiry(self):
        account = factories.AccountFactory(domain="acme.com")
        lead = services.lead_create(email="Ann@ACME.com", created_at=day(3), channel="website")
        assert lead.email == "ann@acme.com" and lead.account == account
        assert lead.stage.slug == "inquiry" and lead.entered_at == day(3)
        transition = StageTransition.objects.get(lead=lead)
        assert transition.to_stage.slug == "inquiry" and transition.channel == "website"

    def test_bulk_upsert(self):
        factories.AccountFactory(domain="acme.com")
        created, updated, unchanged, errors = services.lead_bulk_upsert(rows=[
            (0, {"email": "a@acme.com", "first_name": "A"}),
            (1, {"email": "b@elsewhere.org"}),
            (2, {"email": "a@acme.com"}),
        ])
        assert (created, updated, unchanged) == (2, 0, 0) and errors[0][0] == 2
        assert Lead.objects.get(email="a@acme.com").account.domain == "acme.com"
        assert StageTransition.objects.filter(lead__isnull=False).count() == 2
        created, updated, unchanged, _ = services.lead_bulk_upsert(rows=[
            (0, {"email": "a@acme.com", "first_name": "Ann"}), (1, {"email": "b@elsewhere.org"})])
        assert (created, updated, unchanged) == (0, 1, 1)


class TestAutomaticMoves:
    def test_entering_a_tier_enters_target(self):
        account = factories.AccountFactory()
        signals.tiers_changed_ids.send(sender=type(account), by=None,
                                   changes=[(account.pk, None, factories.tier(1).pk, None)])
        assert AccountFunnel.objects.get(account=account).stage.slug == "target"
        # A second tier change does not move it again.
        signals.tiers_changed_ids.send(sender=type(account), by=None, changes=[
            (account.pk, factories.tier(1).pk, factories.tier(2).pk, None)])
        assert StageTransition.objects.filter(account=account).count() == 1

    def test_a_batch_of_accounts_enters_target_together(self, django_assert_max_num_queries):
        accounts = [factories.AccountFactory() for _ in range(30)]
        record([move(accounts[0], "target", 1), move(accounts[0], "sql", 2)])
        tier3 = factories.tier(3)
        with django_assert_max_num_queries(10):  # however many accounts
            signals.tiers_changed_ids.send(sender=type(accounts[0]), by=None, changes=[
                (account.pk, None, tier3.pk, None) for account in accounts])
        stages = dict(AccountFunnel.objects.values_list("account_id", "stage__slug"))
        assert stages[accounts[0].pk] == "sql"  # already further down: left alone
        assert all(stages[a.pk] == "target" for a in accounts[1:])

    def test_leaving_tiers_does_nothing(self):
        account = factories.AccountFactory()
        signals.tiers_changed_ids.send(sender=type(account), by=None,
                                   changes=[(account.pk, factories.tier(1).pk, None, None)])
        assert not StageTransition.objects.exists()

    def test_first_meaningful_engagement_moves_target_to_engaged(self):
        account = factories.AccountFactory()
        record([move(account, "target", 1)])
        signals.accounts_engaged_ids.send(sender=type(account),
                                      engaged=[(account.pk, day(4))])
        state = AccountFunnel.objects.get(account=account)
        assert state.stage.slug == "engaged" and state.stage_changed_at == day(4)

    def test_engagement_before_target_keeps_history_in_order(self):
        account = factories.AccountFactory()
        record([move(account, "target", 5)])
        signals.accounts_engaged_ids.send(sender=type(account),
                                      engaged=[(account.pk, day(2))])
        assert AccountFunnel.objects.get(account=account).stage_changed_at == day(5)

    def test_engagement_does_not_pull_back_an_account_further_down(self):
        account = factories.AccountFactory()
        record([move(account, "target", 1), move(account, "sql", 2)])
        signals.accounts_engaged_ids.send(sender=type(account),
                                      engaged=[(account.pk, day(3))])
        assert AccountFunnel.objects.get(account=account).stage.slug == "sql"

    def test_moves_roll_back_with_the_senders_transaction(self):
        account = factories.AccountFactory()
        with pytest.raises(RuntimeError), transaction.atomic():
            signals.tiers_changed_ids.send(sender=type(account), by=None,
                                   changes=[(account.pk, None, factories.tier(1).pk, None)])
            assert StageTransition.objects.filter(account=account).exists()
            raise RuntimeError("the tier change fails")
        assert not StageTransition.objects.filter(account=account).exists()
        assert not AccountFunnel.objects.filter(account=account, stage__isnull=False).exists()


class TestAccountsMoveInBulk:
    """`accounts_move`, the set-based path of the automatic moves: the rules of
    `transitions_apply` for a move without `from_stage`, applied to many accounts at once."""

    def test_enters_new_accounts_and_moves_allowed_ones_once(self):
        fresh_account, at_target, at_sql, lost = (factories.AccountFactory() for _ in range(4))
        record([move(at_target, "target", 1, channel="events"), move(at_sql, "target", 1),
                move(at_sql, "sql", 2), move(lost, "target", 1), move(lost, "lost", 2)])
        moves = [(fresh_account.pk, day(5)), (at_target.pk, day(6)), (at_sql.pk, day(7)),
                 (lost.pk, day(8)), (fresh_account.pk, day(9))]  # listed twice: first wins
        moved = services.accounts_move(moves=moves, to_stage="engaged",
                                       only_from={None, "target"})
        assert sorted(moved) == sorted([fresh_account.pk, at_target.pk])
        state = AccountFunnel.objects.get(account=fresh_account)
        assert (state.stage.slug, state.previous_stage, state.version) == ("engaged", None, 1)
        assert state.entered_at == state.stage_changed_at == day(5)
        state = AccountFunnel.objects.get(account=at_target)
        assert (state.stage.slug, state.previous_stage.slug, state.version) == (
            "engaged", "target", 2)
        assert state.entered_at == day(1) and state.entry_channel == "events"
        assert state.stage_changed_at == day(6)
        new = StageTransition.objects.filter(to_stage__slug="engaged").order_by("account_id")
        assert [(t.account_id, t.from_stage and t.from_stage.slug, t.occurred_at, t.is_reopen,
                 t.external_id) for t in new] == sorted([
            (fresh_account.pk, None, day(5), False, None),
            (at_target.pk, "target", day(6), False, None)])
        assert AccountFunnel.objects.get(account=at_sql).stage.slug == "sql"
        assert AccountFunnel.objects.get(account=lost).stage.slug == "lost"

    def test_a_second_run_moves_nothing(self):
        accounts = [factories.AccountFactory() for _ in range(3)]
        moves = [(a.pk, day(3)) for a in accounts]
        assert len(services.accounts_move(moves=moves, to_stage="target",
                                          only_from={None})) == 3
        assert services.accounts_move(moves=moves, to_stage="target", only_from={None}) == []
        # Without only_from the rules still refuse a move to the stage it is at.
        assert services.accounts_move(moves=moves, to_stage="target") == []
        assert StageTransition.objects.count() == 3
        assert set(AccountFunnel.objects.values_list("version", flat=True)) == {1}

    def test_history_stays_in_order_and_closed_or_lost_moves_are_refused(self):
        early, outside = factories.AccountFactory(), factories.AccountFactory()
        record([move(early, "target", 5)])
        services.accounts_move(moves=[(early.pk, day(2)), (outside.pk, day(2))],
                               to_stage="lost")
        # Lost from target is allowed, at the time of its last move; lost before
        # entering the funnel is not.
        state = AccountFunnel.objects.get(account=early)
        assert state.stage.slug == "lost" and state.stage_changed_at == day(5)
        assert not AccountFunnel.objects.filter(account=outside).exists()

    def test_an_empty_state_row_is_entered_by_compare_and_set(self):
        account = factories.AccountFactory()
        AccountFunnel.objects.create(account=account)  # e.g. left by an earlier lost race
        campaign = factories.CampaignFactory(channel="events")
        user = factories.AdminFactory()
        services.accounts_move(moves=[(account.pk, day(3))], to_stage="target",
                               only_from={None}, campaign=campaign, user=user)
        state = AccountFunnel.objects.get(account=account)
        assert (state.stage.slug, state.version, state.entered_at) == ("target", 1, day(3))
        assert (state.entry_channel, state.entry_campaign) == ("events", campaign)
        transition = StageTransition.objects.get(account=account)
        assert (transition.campaign, transition.recorded_by) == (campaign, user)

    def test_a_second_move_of_the_same_account_is_refused(self):
        account = factories.AccountFactory()
        assert services.accounts_move(moves=[(account.pk, day(1))], to_stage="target",
                                      only_from={None}) == [account.pk]
        assert services.accounts_move(moves=[(account.pk, day(2))], to_stage="target",
                                      only_from={None}) == []
        assert StageTransition.objects.filter(account=account).count() == 1

    def test_many_accounts_in_few_queries(self, django_assert_max_num_queries):
        accounts = [factories.AccountFactory() for _ in range(600)]  # > one SQLite batch
        with django_assert_max_num_queries(14):
            moved = services.accounts_move(moves=[(a.pk, day(1)) for a in accounts],
                                           to_stage="target", only_from={None})
        assert len(moved) == 600
        assert StageTransition.objects.filter(to_stage__slug="target").count() == 600


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers: no real concurrent transactions")
def test_concurrent_bulk_moves_move_each_account_once():
    accounts = [factories.AccountFactory() for _ in range(50)]
    record([move(accounts[0], "target", 1)])
    moves = [(a.pk, day(2)) for a in accounts]
    def run():
        with transaction.atomic():
            return services.accounts_move(moves=moves, to_stage="engaged",
                                          only_from={None, "target"})

    results = fire_together([run] * 4)
    errors = [result for result in results if isinstance(result, Exception)]
    assert not errors
    assert sorted(pk for moved in results for pk in moved) == sorted(a.pk for a in accounts)
    assert StageTransition.objects.filter(to_stage__slug="engaged").count() == 50
    assert set(AccountFunnel.objects.values_list("stage__slug", flat=True)) == {"engaged"}
    assert AccountFunnel.objects.get(account=accounts[0]).version == 2
