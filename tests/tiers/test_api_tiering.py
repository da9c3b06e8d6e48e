"""API: intent and engagement bulk + CSV, scores, tiers, rules, overrides, recompute jobs,
segments, ICP suggestions — with who may and who may not."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from abmcrm.core.models import ImportJob
from tests.factories import AccountFactory, ContactFactory, tier
from tests.tiers.scoring_helpers import event, icp, monday, signal
from tiers import services
from tiers.models import (
    Account,
    EngagementEvent,
    IcpCriterion,
    IntentSignal,
    RecomputeJob,
    Segment,
    TierRule,
)

pytestmark = pytest.mark.django_db

SIGNALS = "/api/v1/intent-signals/bulk/"
EVENTS = "/api/v1/engagement-events/bulk/"


def this_week():
    return str(monday(timezone.localdate()))


class TestIntentBulk:
    def test_upsert_is_idempotent_and_bad_items_are_reported(self, api, marketer):
        account = AccountFactory(external_id="CRM-9", domain="acme.com")
        client = api.as_user(marketer)
        items = [
            {"account": "CRM-9", "topic": "abm", "score": 70, "source": "Bombora",
             "week": this_week()},
            {"account": "https://www.ACME.com", "topic": "crm", "score": 0, "source": "g2",
             "week": this_week()},
            {"account": account.pk, "topic": "cdp", "score": 100, "source": "first_party",
             "week": this_week()},
            {"account": "nope.example", "topic": "abm", "score": 101, "source": "g2",
             "week": "2999-01-05"},
            {"account": "CRM-9", "topic": "abm", "score": 70, "source": "bombora",
             "week": this_week()},
            "not an object",
        ]
        body = client.post(SIGNALS, items, format="json").json()
        assert (body["created"], body["updated"], body["unchanged"]) == (3, 0, 0)
        errors = {e["index"]: e["errors"] for e in body["errors"]}
        assert set(errors) == {3, 4, 5}
        assert set(errors[3]) == {"account", "score", "week"}
        assert "Duplicate" in errors[4]["non_field_errors"][0]
        assert IntentSignal.objects.filter(account=account).count() == 3

        items[0]["score"] = 75
        again = client.post(SIGNALS, items[:3], format="json").json()
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 2)
        assert IntentSignal.objects.get(topic="abm").score == 75

    def test_week_moves_to_its_monday(self, api, abm_admin):
        account = AccountFactory()
        wednesday = monday(timezone.localdate()) - timedelta(days=5)
        api.as_user(abm_admin).post(SIGNALS, [{"account": account.pk, "topic": "x",
                                               "score": 5, "source": "g2",
                                               "week": str(wednesday)}], format="json")
        assert IntentSignal.objects.get().week.weekday() == 0

    def test_rep_may_not_ingest(self, api, rep):
        account = AccountFactory(owner=rep)
        response = api.as_user(rep).post(SIGNALS, [{"account": account.pk, "topic": "x",
                                                    "score": 5, "source": "g2",
                                                    "week": this_week()}], format="json")
        assert response.status_code == 403
        assert not IntentSignal.objects.exists()

    def test_too_many_items_is_400(self, api, abm_admin):
        response = api.as_user(abm_admin).post(SIGNALS, [{}] * 10_001, format="json")
        assert response.status_code == 400

    def test_ingest_rescores_the_accounts_after_commit(self, api, abm_admin,
                                                       django_capture_on_commit_callbacks):
        account = AccountFactory()
        with django_capture_on_commit_callbacks(execute=True):
            api.as_user(abm_admin).post(SIGNALS, [{"account": account.pk, "topic": "abm",
                                                   "score": 90, "source": "g2",
                                                   "week": this_week()}], format="json")
        account.refresh_from_db()
        assert account.surging_topics == ["abm"] and account.intent_score == 90


class TestEngagementBulk:
    def test_bad_items_and_duplicates_are_reported_and_not_counted_twice(
            self, api, marketer, django_capture_on_commit_callbacks):
        account = AccountFactory(domain="acme.com")
        contact = ContactFactory(account=account, email="ada@acme.com")
        other = ContactFactory()
        now = timezone.now()
        items = [
            {"account": "acme.com", "kind": "demo_request", "occurred_at": now.isoformat(),
             "source": "webinar", "contact": "ada@acme.com", "external_id": "E-1"},
            {"account": "acme.com", "kind": "pricing_page_visit",
             "occurred_at": now.isoformat(), "contact": str(contact.pk)},
            {"account": "acme.com", "kind": "teleportation", "occurred_at": now.isoformat()},
            {"account": "acme.com", "kind": "meeting",
             "occurred_at": (now + timedelta(days=2)).isoformat()},
            {"account": "acme.com", "kind": "meeting", "occurred_at": "yesterday"},
            {"account": "ghost.io", "kind": "meeting", "occurred_at": now.isoformat()},
            {"account": "acme.com", "kind": "meeting", "occurred_at": now.isoformat(),
             "contact": other.email},
            {"account": "acme.com", "kind": "demo_request", "occurred_at": now.isoformat(),
             "external_id": "E-1"},
        ]
        client = api.as_user(marketer)
        with django_capture_on_commit_callbacks(execute=True):
            body = client.post(EVENTS, items, format="json").json()
        assert body["created"] == 2
        errors = {e["index"]: e["errors"] for e in body["errors"]}
        assert set(errors) == {2, 3, 4, 5, 6, 7}
        assert "kind" in errors[2] and "occurred_at" in errors[3]
        assert "occurred_at" in errors[4] and "account" in errors[5]
        assert "contact" in errors[6] and "external_id" in errors[7]
        account.refresh_from_db()
        assert account.engagement_score == 55  # 40 + 15, once each

        with django_capture_on_commit_callbacks(execute=True):
            again = client.post(EVENTS, items[:2], format="json").json()
        assert again["created"] == 0 and len(again["errors"]) == 2
        assert "already recorded" in str(again["errors"])
        assert EngagementEvent.objects.count() == 2
        account.refresh_from_db()
        assert account.engagement_score == 55

    def test_admin_adds_a_kind_and_it_counts(self, api, abm_admin, rep):
        assert api.as_user(rep).post("/api/v1/engagement-kinds/", {
            "key": "trial_signup", "name": "Trial", "weight": 35}).status_code == 403
        client = api.as_user(abm_admin)
        created = client.post("/api/v1/engagement-kinds/", {"key": "trial_signup",
                                                            "name": "Trial sign-up",
                                                            "weight": 35}, format="json")
        assert created.status_code == 201 and created.json()["is_meaningful"]
        keys = [k["key"] for k in client.get("/api/v1/engagement-kinds/").json()]
        assert {"pricing_page_visit", "pricing_request", "demo_request", "content_download",
                "event_attended", "meeting", "email_reply", "web_visit", "ad_click",
                "ad_impression", "trial_signup"} <= set(keys)
        account = AccountFactory()
        body = client.post(EVENTS, [{"account": account.pk, "kind": "trial_signup",
                                     "occurred_at": timezone.now().isoformat()}],
                           format="json").json()
        assert body["created"] == 1

    def test_default_weights(self, api, rep):
        weights = {k["key"]: k["weight"] for k in
                   api.as_user(rep).get("/api/v1/engagement-kinds/").json()}
        assert weights["ad_impression"] == weights["ad_click"] == weights["web_visit"] == 0
        top = max(weights.values())
        assert weights["demo_request"] == weights["pricing_request"] == top


class TestCsvImport:
    def test_intent_and_engagement_csv_through_the_import_api(
            self, api, abm_admin, django_capture_on_commit_callbacks):
        account = AccountFactory(domain="acme.com", external_id="A-1")
        client = api.as_user(abm_admin)
        post = client.post

        def run(*args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return post(*args, **kwargs)

        client.post = run
        csv_signals = (f"account,topic,score,source,week\nA-1,abm,80,bombora,{this_week()}\n"
                       f"acme.com,crm,150,g2,{this_week()}\n").encode()
        response = client.post("/api/v1/imports/", {
            "kind": "intent_signals", "file": SimpleUploadedFile("s.csv", csv_signals)},
            format="multipart")
        assert response.status_code == 202
        job = ImportJob.objects.get(pk=response.json()["id"])
        assert (job.status, job.created, job.error_count) == ("done", 1, 1)
        assert job.errors[0]["line"] == 3 and "score" in job.errors[0]["errors"]

        now = timezone.now().isoformat()
        csv_events = (f"account,contact,kind,occurred_at,source,external_id\n"
                      f"acme.com,,demo_request,{now},web,X-1\n"
                      f"acme.com,,ad_click,{now},web,X-2\n"
                      f"acme.com,,demo_request,{now},web,X-1\n").encode()
        response = client.post("/api/v1/imports/", {
            "kind": "engagement_events", "file": SimpleUploadedFile("e.csv", csv_events)},
            format="multipart")
        job = ImportJob.objects.get(pk=response.json()["id"])
        assert (job.status, job.created, job.error_count) == ("done", 2, 1)
        assert account.engagement_events.count() == 2

    def test_import_csv_command(self, tmp_path):
        AccountFactory(domain="acme.com")
        path = tmp_path / "events.csv"
        path.write_text("account,kind,occurred_at\nacme.com,meeting,"
                        f"{timezone.now().isoformat()}\n")
        call_command("import_csv", "engagement_events", str(path), stdout=open(tmp_path / "o",
                                                                               "w"))
        assert EngagementEvent.objects.count() == 1


class TestScores:
    def test_scores_shape(self, api, rep):
        icp(("industry", {"values": ["software"]}, 1))
        account = AccountFactory(estimated_acv=80_000)
        signal(account, "abm", 90, 0)
        event(account, "demo_request", timezone.now())
        services.tiers_recompute()
        body = api.as_user(rep).get(f"/api/v1/accounts/{account.pk}/scores/").json()
        assert body["fit_score"] == 100 and body["intent_score"] == 90
        assert body["engagement_score"] == 40 and body["surging_topics"] == ["abm"]
        assert body["tier"] == 1
        assert body["tier_rule"]["priority"] == 10 and body["tier_rule"]["tier"] == 1
        explanation = body["explanation"]
        assert explanation["fit"]["criteria"][0]["matched"] is True
        assert explanation["intent"]["topics"][0]["surging"] is True
        assert explanation["engagement"]["recent_meaningful_events"][0]["kind"] == \
            "demo_request"
        assert "Rule #10" in explanation["tier"]["reason"]

    def test_untiered_account(self, api, marketer):
        account = AccountFactory()
        body = api.as_user(marketer).get(f"/api/v1/accounts/{account.pk}/scores/").json()
        assert body["tier"] is None and body["tier_rule"] is None
        assert body["surging_topics"] == []

    def test_no_role_is_refused(self, api, nobody):
        account = AccountFactory()
        assert api.as_user(nobody).get(
            f"/api/v1/accounts/{account.pk}/scores/").status_code == 403


class TestTiersAndRules:
    def test_tiers_list_with_counts(self, api, rep):
        AccountFactory.create_batch(2, tier=tier(1))
        AccountFactory(tier=tier(3))
        AccountFactory()
        body = api.as_user(rep).get("/api/v1/tiers/").json()
        assert [(t["number"], t["account_count"]) for t in body] == [(1, 2), (2, 0), (3, 1)]

    def test_only_admins_edit_rules_and_tiers(self, api, rep, marketer, abm_admin):
        rule = TierRule.objects.get(priority=10)
        for user in (rep, marketer):
            client = api.as_user(user)
            assert client.get("/api/v1/tier-rules/").status_code == 200
            assert client.patch(f"/api/v1/tier-rules/{rule.pk}/", {"min_fit": 10},
                                format="json").status_code == 403
            assert client.post("/api/v1/tier-rules/", {"name": "x", "tier": 1},
                               format="json").status_code == 403
            assert client.patch(f"/api/v1/tiers/{tier(1).pk}/", {"capacity": 5},
                                format="json").status_code == 403
        client = api.as_user(abm_admin)
        assert client.patch(f"/api/v1/tier-rules/{rule.pk}/", {"min_fit": 80},
                            format="json").status_code == 200
        rule.refresh_from_db()
        assert rule.min_fit == 80
        created = client.post("/api/v1/tier-rules/", {
            "name": "Big spenders", "tier": 1, "priority": 1, "min_acv": "500000",
            "recent_intent": "any", "recent_engagement": "yes"}, format="json")
        assert created.status_code == 201, created.json()
        assert client.patch(f"/api/v1/tiers/{tier(1).pk}/", {"capacity": 50},
                            format="json").json()["capacity"] == 50

    def test_rule_validation(self, api, abm_admin):
        response = api.as_user(abm_admin).post("/api/v1/tier-rules/", {
            "name": "x", "tier": 9, "min_fit": 101, "recent_intent": "maybe",
            "min_acv": "100", "max_acv": "50"}, format="json")
        assert response.status_code == 400
        assert {"tier", "min_fit", "recent_intent"} <= set(response.json())


class TestOverrideApi:
    def test_marketer_overrides_and_unlocks_rep_may_not(self, api, rep, marketer):
        account = AccountFactory(owner=rep)
        url = f"/api/v1/accounts/{account.pk}/"
        refused = api.as_user(rep).post(url + "tier-override/", {"tier": 1, "reason": "mine"},
                                        format="json")
        assert refused.status_code == 403
        assert api.as_user(rep).post(url + "tier-unlock/").status_code == 403
        client = api.as_user(marketer)
        bad = client.post(url + "tier-override/", {"tier": 7}, format="json")
        assert bad.status_code == 400 and {"tier", "reason"} <= set(bad.json())
        done = client.post(url + "tier-override/", {"tier": 1, "reason": "Strategic"},
                           format="json")
        assert done.status_code == 200
        assert (done.json()["new_tier"], done.json()["by"]) == (1, "marketer1")
        account.refresh_from_db()
        assert account.tier == tier(1) and account.tier_locked
        history = api.as_user(rep).get(url + "tier-history/").json()
        assert history[0]["reason"] == "Strategic"
        client = api.as_user(marketer)
        unlocked = client.post(url + "tier-unlock/", {}, format="json")
        assert unlocked.status_code == 200 and unlocked.json()["tier_locked"] is False
        assert unlocked.json()["tier"] is None  # the rules don't place it
        assert client.post(url + "tier-unlock/", {}, format="json").status_code == 409


class TestRecomputeJob:
    def test_start_and_read_progress(self, api, marketer, rep,
                                     django_capture_on_commit_callbacks):
        AccountFactory.create_batch(3)
        assert api.as_user(rep).post("/api/v1/tiers/recompute/").status_code == 403
        client = api.as_user(marketer)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/tiers/recompute/", {}, format="json")
        assert response.status_code == 202
        job = client.get(f"/api/v1/tiers/recompute/{response.json()['id']}/").json()
        assert job["status"] == "done" and job["progress"] == 1.0
        assert job["total"] == 3 and job["result"]["accounts"] == 3

    def test_some_accounts_and_unknown_ids(self, api, abm_admin,
                                           django_capture_on_commit_callbacks):
        a = AccountFactory()
        client = api.as_user(abm_admin)
        bad = client.post("/api/v1/tiers/recompute/", {"accounts": [a.pk, 999999]},
                          format="json")
        assert bad.status_code == 400 and "accounts" in bad.json()["errors"]
        with django_capture_on_commit_callbacks(execute=True):
            ok = client.post("/api/v1/tiers/recompute/", {"accounts": [a.pk]}, format="json")
        assert RecomputeJob.objects.get(pk=ok.json()["id"]).result["accounts"] == 1

    def test_command(self, tmp_path):
        AccountFactory.create_batch(2)
        out = tmp_path / "out"
        with open(out, "w") as handle:
            call_command("recompute_tiers", stdout=handle)
        text = out.read_text()
        assert "2/2 accounts" in text and "2 accounts scored" in text


class TestAccountFilters:
    def test_tier_fit_surging_topic_engaged(self, api, rep):
        a = AccountFactory(tier=tier(1), fit_score=80, surging_topics=["abm", "crm"],
                           has_recent_intent=True, has_recent_engagement=True)
        b = AccountFactory(tier=tier(2), fit_score=60, surging_topics=["abmx"],
                           has_recent_intent=True)
        c = AccountFactory()
        client = api.as_user(rep)

        def ids(query):
            response = client.get("/api/v1/accounts/?" + query)
            assert response.status_code == 200, response.json()
            return {row["id"] for row in response.json()["results"]}

        assert ids("tier=1") == {a.pk}
        assert ids("tier=none") == {c.pk}
        assert ids("fit_min=70") == {a.pk}
        assert ids("surging=true") == {a.pk, b.pk}
        assert ids("topic=ABM") == {a.pk}
        assert ids("engaged=true") == {a.pk}
        assert ids("engaged=false") == {b.pk, c.pk}
        row = client.get(f"/api/v1/accounts/{a.pk}/").json()
        assert row["fit_score"] == 80 and row["surging_topics"] == ["abm", "crm"]
        assert client.get("/api/v1/accounts/?tier=first").status_code == 400
        assert client.get("/api/v1/accounts/?fit_min=lots").status_code == 400


class TestSegments:
    def test_marketer_saves_a_segment_and_lists_its_accounts(self, api, marketer, rep):
        a = AccountFactory(tier=tier(1), fit_score=90)
        AccountFactory(tier=tier(1), fit_score=50)
        AccountFactory(fit_score=95)
        client = api.as_user(marketer)
        created = client.post("/api/v1/segments/", {"name": "Hot tier 1",
                                                    "filters": {"tier": 1, "fit_min": 80}},
                              format="json")
        assert created.status_code == 201, created.json()
        assert created.json()["account_count"] == 1
        pk = created.json()["id"]
        rows = api.as_user(rep).get(f"/api/v1/segments/{pk}/accounts/").json()
        assert rows["count"] == 1 and rows["results"][0]["id"] == a.pk
        assert api.as_user(rep).get("/api/v1/segments/").json()["results"][0][
            "account_count"] == 1
        assert api.as_user(rep).post("/api/v1/segments/", {"name": "x", "filters": {}},
                                     format="json").status_code == 403
        assert api.as_user(rep).delete(f"/api/v1/segments/{pk}/").status_code == 403

    def test_bad_filters_are_400(self, api, marketer):
        response = api.as_user(marketer).post("/api/v1/segments/", {
            "name": "x", "filters": {"colour": "red"}}, format="json")
        assert response.status_code == 400 and "colour" in str(response.json()["filters"])
        response = api.as_user(marketer).post("/api/v1/segments/", {
            "name": "x", "filters": {"fit_min": "high"}}, format="json")
        assert response.status_code == 400 and "fit_min" in response.json()["filters"]
        assert not Segment.objects.exists()

    @pytest.mark.parametrize("rows", [1, 50])
    def test_list_query_count(self, api, rep, rows, django_assert_max_num_queries):
        AccountFactory.create_batch(3, tier=tier(1))
        Segment.objects.bulk_create([Segment(name=f"s{i}", filters={"tier": str(i % 3 + 1)})
                                     for i in range(rows)])
        with django_assert_max_num_queries(6):
            response = api.as_user(rep).get("/api/v1/segments/?page_size=50")
        assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_signal_and_event_list_query_counts(api, rep, rows, django_assert_max_num_queries):
    account = AccountFactory()
    for i in range(rows):
        signal(account, f"t{i}", 50, 0)
        event(account, "meeting", timezone.now() - timedelta(hours=i))
    client = api.as_user(rep)
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/v1/intent-signals/?page_size=50").json()["results"]) == rows
    with django_assert_max_num_queries(5):
        assert len(client.get(
            "/api/v1/engagement-events/?page_size=50").json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_account_list_query_count_with_scores(api, rep, rows, django_assert_max_num_queries):
    AccountFactory.create_batch(rows, tier=tier(2), surging_topics=["a"])
    with django_assert_max_num_queries(6):
        response = api.as_user(rep).get("/api/v1/accounts/?page_size=50&surging=false")
    assert response.status_code == 200


class TestIcp:
    def test_suggestions_rank_by_lift_and_apply(self, api, abm_admin, rep):
        for i in range(4):
            AccountFactory(is_customer=True, renewal_count=2 + i % 2, industry="finance",
                           country="Germany" if i < 2 else "France")
        AccountFactory(is_customer=True, renewal_count=1, industry="finance")
        for i in range(8):
            AccountFactory(industry="finance" if i == 0 else "retail", country="Germany")
        body = api.as_user(rep).get("/api/v1/icp/suggestions/").json()
        finance = next(s for s in body if s["attribute"] == "industry"
                       and s["value"] == "finance")
        assert (finance["customers"], finance["others"]) == (4, 2)
        assert finance["customers_share"] == 1.0
        assert finance["lift"] == pytest.approx(1.0 / (2 / 9), rel=1e-3)
        france = next(s for s in body if s["attribute"] == "country" and s["value"] == "France")
        assert france["lift"] is None  # no other account: first
        assert body.index(france) < body.index(finance)

        assert api.as_user(rep).post("/api/v1/icp/suggestions/apply/", {
            "attribute": "industry", "value": "finance"}, format="json").status_code == 403
        client = api.as_user(abm_admin)
        applied = client.post("/api/v1/icp/suggestions/apply/", {
            "attribute": "industry", "value": "finance", "weight": 3}, format="json")
        assert applied.status_code == 201
        criterion = IcpCriterion.objects.get()
        assert criterion.values == ["finance"] and criterion.weight == 3
        assert criterion.profile.is_active
        band = next(s for s in body if s["attribute"] == "employees")
        assert client.post("/api/v1/icp/suggestions/apply/", {
            "attribute": "employees", "value": band["value"]}, format="json").status_code == 201
        assert client.post("/api/v1/icp/suggestions/apply/", {
            "attribute": "industry", "value": "nonsense"}, format="json").status_code == 400

    def test_profiles_one_active_and_criteria_validation(self, api, abm_admin, marketer):
        client = api.as_user(abm_admin)
        first = client.post("/api/v1/icp/profiles/", {"name": "A", "is_active": True},
                            format="json").json()
        second = client.post("/api/v1/icp/profiles/", {"name": "B", "is_active": True},
                             format="json").json()
        actives = [p["name"] for p in client.get("/api/v1/icp/profiles/").json()["results"]
                   if p["is_active"]]
        assert actives == ["B"] and first["id"] != second["id"]
        bad = client.post("/api/v1/icp/criteria/", {"profile": second["id"],
                                                   "attribute": "industry", "values": []},
                          format="json")
        assert bad.status_code == 400 and "values" in bad.json()
        bad = client.post("/api/v1/icp/criteria/", {"profile": second["id"],
                                                   "attribute": "employees"}, format="json")
        assert bad.status_code == 400
        assert api.as_user(marketer).post("/api/v1/icp/profiles/", {"name": "C"},
                                          format="json").status_code == 403


def test_schema_has_the_new_endpoints(api, rep):
    content = api.as_user(rep).get("/api/v1/schema/").content
    for path in (b"/api/v1/intent-signals/bulk/", b"/api/v1/engagement-events/bulk/",
                 b"/api/v1/accounts/{id}/scores/", b"/api/v1/tiers/recompute/",
                 b"/api/v1/segments/{id}/accounts/", b"/api/v1/icp/suggestions/"):
        assert path in content


def test_account_unchanged_fields_still_present(api, rep):
    account = AccountFactory()
    row = api.as_user(rep).get(f"/api/v1/accounts/{account.pk}/").json()
    assert {"id", "name", "domain", "tier", "owner"} <= set(row)
    assert Account.objects.count() == 1
