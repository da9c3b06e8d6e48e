from decimal import Decimal

import pytest
from django.core import mail

from programs.models import Budget, MenuEntry, OrderEvent, ProgramItem, ProgramOrder
from tests.factories import (
    AccountFactory,
    BudgetFactory,
    CampaignFactory,
    ContactFactory,
    ProgramItemFactory,
    ProgramOrderFactory,
    tier,
)

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
ORDERS = "/api/v1/orders/"


class TestCreateOrders:
    def test_rep_orders_two_items_gets_a_list(self, api, rep, account):
        a, b = ProgramItemFactory(menu_tiers=[1]), ProgramItemFactory(menu_tiers=[1])
        response = api.as_user(rep).post(ORDERS, {"account": account.pk, "items": [a.pk, b.pk],
                                                  "note": "renewal push"}, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert isinstance(body, list) and len(body) == 2
        assert [(o["item"], o["account"], o["status"], o["cost"]) for o in body] == [
            (a.pk, account.pk, "requested", "100.00"), (b.pk, account.pk, "requested", "100.00")]
        assert body[0]["events"][0]["to_status"] == "requested"

    @pytest.mark.parametrize("payload,field", [
        ({"account": None, "items": [1]}, "account"),
        ({"account": 999999, "items": [1]}, "account"),
        ({"account": "abc", "items": [1]}, "account"),
        ({"items": []}, "items"),
        ({"items": ["x"]}, "items"),
        ({"items": [-3]}, "items"),
        ({"items": "1"}, "items"),
        ({"items": [1], "contact": 999999}, "contact"),
        ({"items": [1], "contacts": {"1": 999999}}, "contacts"),
        ({"items": [1], "contacts": {"tin": 1}}, "contacts"),
        ({"items": [1], "contacts": [1]}, "contacts"),
    ])
    def test_malformed_input_is_a_400_with_field_errors(self, api, rep, account, payload,
                                                        field):
        payload = {"account": account.pk, **payload}
        response = api.as_user(rep).post(ORDERS, payload, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not ProgramOrder.objects.exists()

    def test_per_item_recipients_and_the_single_contact_both_work(self, api, rep, account):
        tin = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        book = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        ads = ProgramItemFactory(menu_tiers=[1], kind="account_based_ad")
        bill, peter = ContactFactory(account=account), ContactFactory(account=account)
        client = api.as_user(rep)
        response = client.post(ORDERS, {
            "account": account.pk, "items": [tin.pk, book.pk, ads.pk], "contact": bill.pk,
            "contacts": {str(book.pk): peter.pk}}, format="json")
        assert response.status_code == 201, response.json()
        assert [o["contact"] for o in response.json()] == [bill.pk, peter.pk, None]
        # Today's single `contact` alone still places the order.
        ProgramOrder.objects.all().delete()
        response = client.post(ORDERS, {"account": account.pk, "items": [tin.pk],
                                        "contact": bill.pk}, format="json")
        assert response.status_code == 201 and response.json()[0]["contact"] == bill.pk

    def test_unknown_other_tier_and_duplicate_items_name_the_item(self, api, rep, account):
        ok = ProgramItemFactory(menu_tiers=[1])
        other = ProgramItemFactory(menu_tiers=[3])
        client = api.as_user(rep)
        for items, code in [([ok.pk, 999999], "unknown"), ([ok.pk, other.pk], "not_on_menu"),
                            ([ok.pk, ok.pk], "duplicate")]:
            response = client.post(ORDERS, {"account": account.pk, "items": items},
                                   format="json")
            assert response.status_code == 400
            [error] = response.json()["errors"]["items"]
            assert error["code"] == code and error["item"] == items[1]
        assert not ProgramOrder.objects.exists() and not OrderEvent.objects.exists()

    def test_rep_may_not_order_for_someone_elses_account(self, api, rep, other_rep):
        theirs = AccountFactory(owner=other_rep, tier=tier(1))
        item = ProgramItemFactory(menu_tiers=[1])
        response = api.as_user(rep).post(ORDERS, {"account": theirs.pk, "items": [item.pk]},
                                         format="json")
        assert response.status_code == 400 and "account" in response.json()["errors"]
        assert not ProgramOrder.objects.exists()

    def test_no_role_no_orders(self, api, nobody, account):
        item = ProgramItemFactory(menu_tiers=[1])
        response = api.as_user(nobody).post(ORDERS, {"account": account.pk, "items": [item.pk]},
                                            format="json")
        assert response.status_code == 403


class TestTransitionsApi:
    def test_marketer_approves_rep_gets_403(self, api, rep, marketer,
                                            django_capture_on_commit_callbacks):
        order = ProgramOrderFactory(requested_by=rep)
        url = f"{ORDERS}{order.pk}/approve/"
        assert api.as_user(rep).post(url).status_code == 403
        with django_capture_on_commit_callbacks(execute=True):
            response = api.as_user(marketer).post(url, {"note": "go"}, format="json")
        assert response.status_code == 200 and response.json()["status"] == "approved"
        assert [m.to for m in mail.outbox] == [[rep.email]]
        # A second approval: the state machine refuses with 409.
        again = api.as_user(marketer).post(url)
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    def test_reject_requires_reason(self, api, marketer, rep):
        order = ProgramOrderFactory(requested_by=rep)
        url = f"{ORDERS}{order.pk}/reject/"
        assert api.as_user(rep).post(url, {"reason": "x"}, format="json").status_code == 403
        response = api.as_user(marketer).post(url, {}, format="json")
        assert response.status_code == 400 and "reason" in response.json()
        blank = api.as_user(marketer).post(url, {"reason": "   "}, format="json")
        assert blank.status_code == 400
        done = api.as_user(marketer).post(url, {"reason": "Too late in the quarter"},
                                          format="json")
        assert done.status_code == 200
        assert done.json()["status"] == "rejected"
        assert done.json()["reason"] == "Too late in the quarter"

    def test_cancel_rules(self, api, rep, other_rep, marketer):
        mine = ProgramOrderFactory(requested_by=rep)
        assert api.as_user(other_rep).post(f"{ORDERS}{mine.pk}/cancel/").status_code == 403
        response = api.as_user(rep).post(f"{ORDERS}{mine.pk}/cancel/", {"reason": "dup"},
                                         format="json")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        # Approving a cancelled order: 409 and nothing written.
        approve = api.as_user(marketer).post(f"{ORDERS}{mine.pk}/approve/")
        assert approve.status_code == 409
        assert OrderEvent.objects.filter(order=mine).count() == 1

    def test_budget_exceeded_is_409_naming_the_budget(self, api, marketer):
        BudgetFactory(limit=150, name="Q3 gifting")
        first, second = ProgramOrderFactory(cost=100), ProgramOrderFactory(cost=100)
        client = api.as_user(marketer)
        assert client.post(f"{ORDERS}{first.pk}/approve/").status_code == 200
        response = client.post(f"{ORDERS}{second.pk}/approve/")
        assert response.status_code == 409 and "Q3 gifting" in response.json()["detail"]
        assert Budget.objects.get().committed == 100

    def test_unknown_order_is_404(self, api, marketer):
        assert api.as_user(marketer).post(f"{ORDERS}999999/approve/").status_code == 404


class TestListOrders:
    def test_reps_see_their_own_marketers_see_all(self, api, rep, other_rep, marketer,
                                                  abm_admin):
        mine = ProgramOrderFactory(requested_by=rep)
        ProgramOrderFactory(requested_by=other_rep)
        assert [o["id"] for o in api.as_user(rep).get(ORDERS).json()["results"]] == [mine.pk]
        assert api.as_user(marketer).get(ORDERS).json()["count"] == 2
        assert api.as_user(abm_admin).get(ORDERS).json()["count"] == 2
        assert api.as_user(rep).get(f"{ORDERS}{mine.pk}/").status_code == 200

    def test_filters(self, api, marketer, rep, abm_admin):
        from datetime import timedelta

        from django.utils import timezone

        campaign = CampaignFactory()
        item = ProgramItemFactory(campaign=campaign)
        account = AccountFactory()
        a = ProgramOrderFactory(item=item, account=account, tier=tier(1), requested_by=rep)
        b = ProgramOrderFactory(tier=tier(2), status=S.APPROVED, assignee=marketer,
                                due_at=timezone.now() - timedelta(days=1))
        c = ProgramOrderFactory(status=S.IN_PROGRESS, assignee=abm_admin,
                                due_at=timezone.now() + timedelta(days=3))
        client = api.as_user(marketer)

        def ids(query):
            response = client.get(f"{ORDERS}?{query}")
            assert response.status_code == 200, response.json()
            return sorted(o["id"] for o in response.json()["results"])

        assert ids("status=requested") == [a.pk]
        assert ids("status=approved&status=in_progress") == sorted([b.pk, c.pk])
        assert ids(f"account={account.pk}") == [a.pk]
        assert ids(f"item={item.pk}") == [a.pk]
        assert ids("tier=2") == [b.pk]
        assert ids(f"requested_by={rep.pk}") == [a.pk]
        assert ids(f"campaign={campaign.pk}") == [a.pk]
        assert ids("assignee=me") == [b.pk]
        assert ids(f"assignee={abm_admin.pk}") == [c.pk]
        assert ids("assignee=none") == [a.pk]
        assert ids("overdue=true") == [b.pk]
        assert ids("overdue=false") == sorted([a.pk, c.pk])
        tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
        assert ids(f"created_before={tomorrow}") == sorted([a.pk, b.pk, c.pk])
        assert ids(f"created_after={tomorrow}") == []
        assert ids("overdue=1") == [b.pk] and ids("overdue=") == sorted([a.pk, b.pk, c.pk])
        for bad in ("status=shipped", "assignee=bob", "account=x", "created_after=yesterday",
                    "assignee=99999999999999999999"):
            assert client.get(f"{ORDERS}?{bad}").status_code == 400
        # A boolean that is neither true nor false is an error, not "either".
        response = client.get(f"{ORDERS}?overdue=maybe")
        assert response.status_code == 400
        assert response.json() == {"overdue": ["Give true or false."]}

    @pytest.mark.parametrize("rows", [1, 50])
    def test_query_count_is_fixed(self, api, marketer, rows, django_assert_max_num_queries):
        for _ in range(rows):
            order = ProgramOrderFactory(tier=tier(1))
            OrderEvent.objects.create(order=order, to_status="requested",
                                      by=order.requested_by)
        client = api.as_user(marketer)
        with django_assert_max_num_queries(6):
            response = client.get(f"{ORDERS}?page_size=100")
        assert response.json()["count"] == rows


class TestMenuApi:
    def test_menu_lists_items_with_can_order_reason_and_budget(self, api, rep, account):
        ok = ProgramItemFactory(menu_tiers=[1], name="Custom content", unit_cost=400,
                                lead_time_days=14)
        gift = ProgramItemFactory(menu_tiers=[1], name="Gift", needs_contact=True)
        ProgramItemFactory(menu_tiers=[1], is_active=False)
        BudgetFactory(limit=1000, name="Q")
        response = api.as_user(rep).get(f"/api/v1/accounts/{account.pk}/menu/")
        assert response.status_code == 200
        lines = response.json()
        assert [(x["id"], x["cost"], x["lead_time_days"], x["can_order"], x["reason_code"],
                 x["budget_remaining"]) for x in lines] == [
            (ok.pk, "400.00", 14, True, "", "1000.00"),
            (gift.pk, "100.00", 5, False, "needs_contact", "1000.00"),
        ]
        assert "contact" in lines[1]["reason"]

    def test_unknown_account_404_and_no_role_403(self, api, rep, nobody, account):
        assert api.as_user(rep).get("/api/v1/accounts/999999/menu/").status_code == 404
        assert api.as_user(nobody).get(f"/api/v1/accounts/{account.pk}/menu/"
                                       ).status_code == 403

    @pytest.mark.parametrize("size", [1, 40])
    def test_fixed_number_of_queries(self, api, rep, account, size,
                                     django_assert_max_num_queries):
        for _ in range(size):
            ProgramItemFactory(menu_tiers=[1], limit_per_account=1, needs_contact=True)
        BudgetFactory()
        ContactFactory(account=account)
        client = api.as_user(rep)
        with django_assert_max_num_queries(7):
            response = client.get(f"/api/v1/accounts/{account.pk}/menu/")
        assert len(response.json()) == size


class TestProgramItemsApi:
    def test_tier_filter_in_menu_order(self, api, rep):
        b = ProgramItemFactory(name="B")
        a = ProgramItemFactory(name="A")
        MenuEntry.objects.create(tier=tier(1), item=b, position=0)
        MenuEntry.objects.create(tier=tier(1), item=a, position=1)
        ProgramItemFactory(menu_tiers=[2])
        body = api.as_user(rep).get("/api/v1/program-items/?tier=1").json()
        assert [x["id"] for x in body["results"]] == [b.pk, a.pk]
        assert body["results"][0]["tiers"] == [1]

    def test_only_admins_write(self, api, rep, marketer, abm_admin):
        campaign = CampaignFactory()
        payload = {"name": "Popcorn box", "kind": "gift", "campaign": campaign.pk,
                   "unit_cost": "45.00", "lead_time_days": 10, "tiers": [1, 2],
                   "limit_per_account": 1, "needs_contact": True}
        for user in (rep, marketer):
            assert api.as_user(user).post("/api/v1/program-items/", payload,
                                          format="json").status_code == 403
        response = api.as_user(abm_admin).post("/api/v1/program-items/", payload,
                                               format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["tiers"] == [1, 2]
        item = ProgramItem.objects.get(name="Popcorn box")
        patched = api.as_user(abm_admin).patch(f"/api/v1/program-items/{item.pk}/",
                                               {"tiers": [3], "unit_cost": "50"}, format="json")
        assert patched.status_code == 200 and patched.json()["tiers"] == [3]
        assert patched.json()["unit_cost"] == "50.00"

    @pytest.mark.parametrize("field,value", [("unit_cost", "-1"), ("unit_cost", "cheap"),
                                             ("auto_approve_up_to", "-5"), ("tiers", [9]),
                                             ("kind", "balloon"), ("campaign", 999999)])
    def test_bad_values_are_400(self, api, abm_admin, field, value):
        payload = {"name": "X", "kind": "gift", "campaign": CampaignFactory().pk,
                   "unit_cost": "10", field: value}
        response = api.as_user(abm_admin).post("/api/v1/program-items/", payload,
                                               format="json")
        assert response.status_code == 400 and field in response.json()

    def test_ordered_item_cannot_be_deleted(self, api, abm_admin):
        order = ProgramOrderFactory()
        response = api.as_user(abm_admin).delete(f"/api/v1/program-items/{order.item_id}/")
        assert response.status_code == 409

    def test_campaigns(self, api, rep, abm_admin):
        response = api.as_user(abm_admin).post("/api/v1/campaigns/", {
            "name": "Q3 field events", "code": "q3-events", "channel": "events",
            "start_date": "2025-07-01", "end_date": "2025-09-30", "fixed_cost": "5000"},
            format="json")
        assert response.status_code == 201
        assert api.as_user(rep).get("/api/v1/campaigns/").json()["count"] == 1
        assert api.as_user(rep).post("/api/v1/campaigns/", {"name": "x", "code": "x"},
                                     format="json").status_code == 403
        bad = api.as_user(abm_admin).post("/api/v1/campaigns/", {
            "name": "y", "code": "y", "fixed_cost": "-1"}, format="json")
        assert bad.status_code == 400 and "fixed_cost" in bad.json()


class TestBudgetsApi:
    def test_list_with_committed_spent_remaining(self, api, rep, marketer):
        budget = BudgetFactory(limit=1000)
        order = ProgramOrderFactory(cost=300)
        api.as_user(marketer).post(f"{ORDERS}{order.pk}/approve/")
        [row] = api.as_user(rep).get("/api/v1/budgets/").json()["results"]
        assert (row["id"], row["limit"], row["committed"], row["spent"], row["remaining"]) == (
            budget.pk, "1000.00", "300.00", "0.00", "700.00")

    def test_admin_crud_and_validation(self, api, marketer, abm_admin):
        payload = {"name": "Tier 1 Q3", "start_date": "2025-07-01", "end_date": "2025-09-30",
                   "scope": "tier", "tier": 1, "limit": "20000"}
        assert api.as_user(marketer).post("/api/v1/budgets/", payload,
                                          format="json").status_code == 403
        client = api.as_user(abm_admin)
        created = client.post("/api/v1/budgets/", payload, format="json")
        assert created.status_code == 201, created.json()
        assert created.json()["tier"] == 1 and created.json()["remaining"] == "20000.00"
        for bad, field in [({"limit": "-1"}, "limit"), ({"limit": "lots"}, "limit"),
                           ({"scope": "tier", "tier": None}, "tier"),
                           ({"scope": "all"}, "tier"),
                           ({"end_date": "2025-01-01"}, "end_date")]:
            response = client.post("/api/v1/budgets/", {**payload, **bad}, format="json")
            assert response.status_code == 400 and field in response.json(), bad
        assert Budget.objects.count() == 1

    def test_limit_below_committed_is_refused(self, api, marketer, abm_admin):
        budget = BudgetFactory(limit=Decimal("500"))
        order = ProgramOrderFactory(cost=400)
        api.as_user(marketer).post(f"{ORDERS}{order.pk}/approve/")
        response = api.as_user(abm_admin).patch(f"/api/v1/budgets/{budget.pk}/",
                                                {"limit": "399"}, format="json")
        assert response.status_code == 400 and "limit" in response.json()
        assert api.as_user(abm_admin).delete(f"/api/v1/budgets/{budget.pk}/").status_code == 409


def test_schema_has_no_warnings_about_programs(api, abm_admin, capsys):
    response = api.as_user(abm_admin).get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/accounts/{id}/menu/" in response.content
    problems = [line for line in capsys.readouterr().err.splitlines()
                if ("Warning" in line or "Error" in line)
                and "tiers/views.py" not in line]
    assert problems == []


def test_menu_says_when_the_rep_may_not_order_for_the_account(api, other_rep, marketer):
    account = AccountFactory(owner=None, tier=tier(1))
    ProgramItemFactory(menu_tiers=[1])
    [line] = api.as_user(other_rep).get(f"/api/v1/accounts/{account.pk}/menu/").json()
    assert not line["can_order"] and line["reason_code"] == "account_not_allowed"
    [line] = api.as_user(marketer).get(f"/api/v1/accounts/{account.pk}/menu/").json()
    assert line["can_order"]


@pytest.mark.parametrize("path", ["/api/v1/campaigns/", "/api/v1/program-items/",
                                  "/api/v1/budgets/", ORDERS])
def test_every_role_reads_no_role_is_refused(api, rep, marketer, abm_admin, nobody, path):
    for user in (rep, marketer, abm_admin):
        assert api.as_user(user).get(path).status_code == 200
    assert api.as_user(nobody).get(path).status_code == 403
    api.force_authenticate(None)
    assert api.get(path).status_code in (401, 403)


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("path,make", [
    ("/api/v1/campaigns/", lambda: CampaignFactory()),
    ("/api/v1/program-items/", lambda: ProgramItemFactory(menu_tiers=[1, 2])),
    ("/api/v1/program-items/?tier=1", lambda: ProgramItemFactory(menu_tiers=[1, 2])),
    ("/api/v1/budgets/", lambda: BudgetFactory(scope="tier", tier=tier(1))),
])
def test_list_query_counts_are_fixed(api, rep, rows, path, make,
                                     django_assert_max_num_queries):
    for _ in range(rows):
        make()
    client = api.as_user(rep)
    separator = "&" if "?" in path else "?"
    with django_assert_max_num_queries(5):
        response = client.get(f"{path}{separator}page_size=100")
    assert response.json()["count"] == rows


class TestIdsOutOfRange:
    """Numbers past a column's range are field errors or empty results, never a database
    error (OverflowError on SQLite, out of range on PostgreSQL)."""

    @pytest.mark.parametrize("number", [2**63, 2**63 - 1, 32768, 10**30])
    def test_an_item_on_a_tier_that_cannot_exist(self, api, abm_admin, number):
        campaign = CampaignFactory()
        response = api.as_user(abm_admin).post("/api/v1/program-items/", {
            "name": "Mug", "kind": "gift", "campaign": campaign.pk, "unit_cost": "5.00",
            "tiers": [number]}, format="json")
        assert response.status_code == 400 and "tiers" in response.json()

    @pytest.mark.parametrize("number", [2**63, 10**30])
    def test_filters_and_orders_with_huge_ids(self, api, abm_admin, rep, number):
        client = api.as_user(abm_admin)
        assert client.get("/api/v1/program-items/", {"tier": number}).status_code in (200, 400)
        assert client.get("/api/v1/orders/", {"account": number}).status_code == 400
        response = api.as_user(rep).post("/api/v1/orders/", {
            "account": AccountFactory(owner=rep, tier=tier(1)).pk, "items": [number]},
            format="json")
        assert response.status_code == 400 and "items" in response.json()

    def test_a_recompute_of_accounts_that_cannot_exist(self, api, marketer):
        response = api.as_user(marketer).post("/api/v1/tiers/recompute/", {
            "accounts": [2**63]}, format="json")
        assert response.status_code == 400 and "accounts" in response.json()


def test_an_order_listed_as_a_row_reads_as_the_order_with_its_objects(api, marketer, rep):
    """The list's rows (annotated values, attached history) and an order loaded with its
    related objects (what every POST answers) are represented alike."""
    from programs import selectors, services
    from programs.serializers import ProgramOrderSerializer

    account = AccountFactory(owner=rep, tier=tier(1))
    untiered = AccountFactory(owner=rep, tier=None)
    orders = [ProgramOrderFactory(account=account, requested_by=rep, note="n"),
              ProgramOrderFactory(account=untiered, requested_by=rep)]
    services.order_reject(order=orders[0], by=marketer, reason="Not now")
    client = api.as_user(marketer)
    listed = {row["id"]: row for row in client.get(ORDERS).json()["results"]}
    for order in orders:
        expected = ProgramOrderSerializer(selectors.orders_by_ids([order.pk]).get()).data
        assert listed[order.pk] == expected
        assert client.get(f"{ORDERS}{order.pk}/").json() == expected
    assert [e["to_status"] for e in listed[orders[0].pk]["events"]] == ["rejected"]
