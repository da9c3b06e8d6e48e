from datetime import UTC, datetime

import pytest
from django.core import mail

from programs.models import ProgramOrder
from tests.factories import (
    AccountFactory,
    BudgetFactory,
    ContactFactory,
    ProgramItemFactory,
    ProgramOrderFactory,
    tier,
)

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status


def url(account):
    return f"/accounts/{account.pk}/programs/"


class TestProgramsPage:
    def test_login_required_and_role_required(self, client, nobody, account):
        assert client.get(url(account)).status_code == 302
        client.force_login(nobody)
        assert client.get(url(account)).status_code == 403

    def test_shows_tier_scores_checkboxes_and_disabled_reasons(self, client, rep, account):
        ok = ProgramItemFactory(menu_tiers=[1], name="Custom content", unit_cost=400,
                                lead_time_days=14)
        gift = ProgramItemFactory(menu_tiers=[1], name="Popcorn", needs_contact=True)
        client.force_login(rep)
        html = client.get(url(account)).content.decode()
        assert "Tier 1" in html and "87" in html and "64" in html
        assert f'name="items" value="{ok.pk}"' in html and "400\xa0USD" in html
        assert "14 days" in html
        assert "needs a recipient contact" in html
        gift_box = html.split(f'value="{gift.pk}"')[1].split(">")[0]
        assert "disabled" in gift_box

    def test_submit_places_orders_and_shows_them(self, client, rep, account):
        a = ProgramItemFactory(menu_tiers=[1], name="Landing page")
        b = ProgramItemFactory(menu_tiers=[1], name="Gift", needs_contact=True)
        contact = ContactFactory(account=account)
        client.force_login(rep)
        response = client.post(url(account), {"items": [a.pk, b.pk], f"contact_{b.pk}": contact.pk,
                                               "note": "for the board"}, follow=True)
        assert response.status_code == 200
        orders = ProgramOrder.objects.filter(account=account)
        # Only the gift goes to a person; the landing page has no recipient.
        assert {o.item_id: o.contact for o in orders} == {a.pk: None, b.pk: contact}
        html = response.content.decode()
        assert "Orders just placed" in html and html.count("Requested") >= 2

    @pytest.mark.parametrize("placed", ["99999999999999999999", "abc", "1,,x"])
    def test_placed_ids_that_name_no_order_are_ignored(self, client, rep, account, placed):
        client.force_login(rep)
        response = client.get(url(account), {"placed": placed})
        assert response.status_code == 200  # an id past the column's range was a 500
        assert "Orders just placed" not in response.content.decode()

    def test_bad_submit_shows_the_reason_and_writes_nothing(self, client, rep, account):
        gift = ProgramItemFactory(menu_tiers=[1], name="Gift", needs_contact=True)
        ContactFactory(account=account)
        client.force_login(rep)
        response = client.post(url(account), {"items": [gift.pk]})
        assert response.status_code == 400
        html = response.content.decode()
        assert html.count("choose a recipient") == 1  # next to its item, not also at the top
        assert "Nothing was ordered: see the reasons next to the items." in html
        assert not ProgramOrder.objects.exists()

    def test_a_reason_about_an_item_off_this_menu_is_still_shown(self, client, rep, account):
        other_tier = ProgramItemFactory(menu_tiers=[3], name="Webinar seat")
        client.force_login(rep)
        response = client.post(url(account), {"items": [other_tier.pk]})
        assert response.status_code == 400
        html = response.content.decode()
        assert "Webinar seat" in html and "Nothing was ordered: see the reasons" not in html
        assert not ProgramOrder.objects.exists()

    def test_rep_cannot_submit_for_another_reps_account(self, client, other_rep, account):
        item = ProgramItemFactory(menu_tiers=[1])
        client.force_login(other_rep)
        page = client.get(url(account)).content.decode()
        assert "Read only" in page and "only rep1 or a marketer orders programs" in page
        # Nothing on the read-only menu looks orderable: no boxes, pickers, note or button.
        assert 'name="items"' not in page and "<textarea" not in page
        assert "Order selected programs" not in page
        assert client.post(url(account), {"items": [item.pk]}).status_code == 403
        assert not ProgramOrder.objects.exists()

    @pytest.mark.parametrize("size", [1, 30])
    def test_fixed_queries_whatever_the_menu_size(self, client, rep, account, size,
                                                  django_assert_max_num_queries):
        for _ in range(size):
            ProgramItemFactory(menu_tiers=[1], limit_per_account=1)
        BudgetFactory()
        client.force_login(rep)
        with django_assert_max_num_queries(10):
            response = client.get(url(account))
        assert response.content.decode().count('name="items"') == size


class TestAccountPanel:
    def test_marketers_see_every_order_with_history_and_links_to_programs(
            self, client, rep, other_rep, marketer, account):
        from programs import services

        mine = ProgramOrderFactory(account=account, requested_by=rep)
        theirs = ProgramOrderFactory(account=account, requested_by=other_rep)
        services.order_reject(order=theirs, by=marketer, reason="Duplicate of #1")
        client.force_login(marketer)
        html = client.get(f"/accounts/{account.pk}/").content.decode()
        assert f'href="/accounts/{account.pk}/programs/"' in html
        assert f'data-order="{mine.pk}"' in html and f'data-order="{theirs.pk}"' in html
        assert "Duplicate of #1" in html and "Rejected" in html

    def test_a_rep_sees_only_their_own_orders_as_the_api_does(self, client, api, rep,
                                                              other_rep, marketer):
        """Another rep's orders on an account (their notes, reject reasons and history) are
        theirs: the page shows a rep what the API lets them read, one rule for both."""
        from programs import services

        account = AccountFactory(owner=other_rep, tier=tier(1))
        mine = ProgramOrderFactory(account=account, requested_by=rep, note="my own note")
        theirs = ProgramOrderFactory(account=account, requested_by=other_rep,
                                     note="private note of rep2")
        services.order_reject(order=theirs, by=marketer, reason="Not this quarter, rep2")
        client.force_login(rep)
        html = client.get(f"/accounts/{account.pk}/").content.decode()
        assert f'data-order="{mine.pk}"' in html and f'data-order="{theirs.pk}"' not in html
        assert "Not this quarter, rep2" not in html and "private note" not in html
        client_api = api.as_user(rep)
        assert client_api.get(f"/api/v1/orders/{theirs.pk}/").status_code == 404
        assert client_api.get(f"/api/v1/orders/{mine.pk}/").status_code == 200
        # Nor through the programs page's confirmation of placed orders.
        programs = client.get(f"/accounts/{account.pk}/programs/?placed={theirs.pk},{mine.pk}")
        placed = programs.content.decode().split('id="placed"')[1].split("</section>")[0]
        assert f'data-order="{mine.pk}"' in placed and f'data-order="{theirs.pk}"' not in placed

    def test_an_open_order_shows_when_it_is_due_and_who_is_on_it(self, client, rep, marketer,
                                                                 account):
        order = ProgramOrderFactory(account=account, requested_by=rep, status=S.IN_PROGRESS,
                                    assignee=marketer,
                                    due_at=datetime(2026, 12, 1, 12, tzinfo=UTC))
        client.force_login(rep)
        html = client.get(f"/accounts/{account.pk}/").content.decode()
        row = html.split(f'data-order="{order.pk}"')[1].split("</tr>")[0]
        assert "due Dec. 1, 2026" in row and f"{marketer.username} is on it" in row

    @pytest.mark.parametrize("rows", [1, 30])
    def test_account_page_queries_fixed(self, client, rep, account, rows,
                                        django_assert_max_num_queries):
        from programs.models import OrderEvent

        for _ in range(rows):
            order = ProgramOrderFactory(account=account, requested_by=rep)
            OrderEvent.objects.create(order=order, to_status="requested", by=rep)
        client.force_login(rep)
        # 23 (was 18): the pipeline app's Opportunities panel (one), the buying committee (its
        # seats, its contacts, the persona columns) and the engagement multipliers (persona,
        # tier): fixed queries that do not grow with the orders.
        with django_assert_max_num_queries(23):
            response = client.get(f"/accounts/{account.pk}/")
        assert response.content.decode().count("data-order=") == rows


class TestApprovalsPage:
    def test_only_marketers(self, client, rep, marketer, abm_admin):
        client.force_login(rep)
        assert client.get("/orders/approvals/").status_code == 403
        for user in (marketer, abm_admin):
            client.force_login(user)
            assert client.get("/orders/approvals/").status_code == 200

    def test_nav_link_for_marketers_only(self, client, rep, marketer, account):
        client.force_login(marketer)
        assert 'href="/orders/approvals/"' in client.get("/accounts/").content.decode()
        client.force_login(rep)
        assert 'href="/orders/approvals/"' not in client.get("/accounts/").content.decode()

    def test_lists_pending_with_budget_left_and_bulk_decides(
            self, client, marketer, rep, django_capture_on_commit_callbacks):
        BudgetFactory(limit=1000, name="Q budget")
        first, second, third = (ProgramOrderFactory(cost=100, tier=tier(1), requested_by=rep)
                                for _ in range(3))
        client.force_login(marketer)
        html = client.get("/orders/approvals/").content.decode()
        assert "Q budget" in html and "1,000\xa0USD" in html and f'value="{third.pk}"' in html
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/orders/approvals/", {
                "orders": [first.pk, second.pk], "decision": "approve"}, follow=True)
        assert "2 orders approved" in response.content.decode()
        assert "800\xa0USD" in response.content.decode()  # budget left after the approvals
        response = client.post("/orders/approvals/", {"orders": [third.pk],
                                                      "decision": "reject"}, follow=True)
        assert "Say why each order is rejected" in response.content.decode()
        client.post("/orders/approvals/", {"orders": [third.pk], "decision": "reject",
                                           "reason": "Not a fit"})
        statuses = dict(ProgramOrder.objects.values_list("pk", "status"))
        assert statuses == {first.pk: S.APPROVED, second.pk: S.APPROVED, third.pk: S.REJECTED}
        assert len(mail.outbox) == 2

    def test_over_budget_order_reports_and_others_still_pass(self, client, marketer):
        BudgetFactory(limit=150, name="Small")
        a, b = ProgramOrderFactory(cost=100), ProgramOrderFactory(cost=100)
        client.force_login(marketer)
        response = client.post("/orders/approvals/", {"orders": [a.pk, b.pk],
                                                      "decision": "approve"}, follow=True)
        html = response.content.decode()
        assert "1 order approved" in html and "Small" in html
        assert ProgramOrder.objects.get(pk=b.pk).status == S.REQUESTED


@pytest.mark.parametrize("rows", [1, 50])
def test_approvals_page_queries_fixed(client, marketer, rows, django_assert_max_num_queries):
    for _ in range(rows):
        ProgramOrderFactory()
    client.force_login(marketer)
    with django_assert_max_num_queries(14):
        response = client.get("/orders/approvals/")
    assert response.content.decode().count("data-order=") == rows


class TestOrderList:
    def test_a_rep_sees_their_own_orders_across_accounts(self, client, rep, other_rep):
        mine = [ProgramOrderFactory(requested_by=rep, account=AccountFactory(owner=rep))
                for _ in range(2)]
        theirs = ProgramOrderFactory(requested_by=other_rep)
        client.force_login(rep)
        response = client.get("/orders/")
        html = response.content.decode()
        assert response.status_code == 200 and "My orders" in html
        assert all(f'data-order="{order.pk}"' in html for order in mine)
        assert f'data-order="{theirs.pk}"' not in html
        assert 'href="/orders/"' in html  # in the navigation

    def test_marketers_see_every_order_with_its_requester(self, client, marketer, rep,
                                                          other_rep):
        orders = [ProgramOrderFactory(requested_by=rep), ProgramOrderFactory(
            requested_by=other_rep)]
        client.force_login(marketer)
        html = client.get("/orders/").content.decode()
        assert all(f'data-order="{order.pk}"' in html for order in orders)
        assert other_rep.username in html

    def test_anonymous_and_users_without_a_role(self, client, nobody):
        assert client.get("/orders/").status_code == 302
        client.force_login(nobody)
        assert client.get("/orders/").status_code == 403

    def test_status_filter_and_a_bad_status(self, client, rep):
        requested = ProgramOrderFactory(requested_by=rep)
        done = ProgramOrderFactory(requested_by=rep, status=S.FULFILLED)
        client.force_login(rep)

        def shown(query):
            html = client.get(f"/orders/?{query}").content.decode()
            return {pk for pk in (requested.pk, done.pk) if f'data-order="{pk}"' in html}

        assert shown("status=open") == {requested.pk}
        assert shown("status=fulfilled") == {done.pk}
        assert shown("") == {requested.pk, done.pk}
        response = client.get("/orders/?status=shipped")
        assert "“shipped” is not a status" in response.content.decode()
        assert shown("status=shipped") == {requested.pk, done.pk}

    @pytest.mark.parametrize("rows", [1, 60])
    def test_fixed_number_of_queries_and_pages_of_50(self, client, rep, rows,
                                                     django_assert_max_num_queries):
        account = AccountFactory(owner=rep)
        for _ in range(rows):
            ProgramOrderFactory(requested_by=rep, account=account)
        client.force_login(rep)
        with django_assert_max_num_queries(9):
            response = client.get("/orders/")
        assert response.content.decode().count("data-order=") == min(rows, 50)


class TestOrderPageAndCancel:
    def test_a_rep_sees_their_order_and_not_anothers(self, client, rep, other_rep):
        mine = ProgramOrderFactory(requested_by=rep)
        theirs = ProgramOrderFactory(requested_by=other_rep)
        client.force_login(rep)
        response = client.get(f"/orders/{mine.pk}/")
        assert response.status_code == 200 and "Cancel this order" in response.content.decode()
        assert client.get(f"/orders/{theirs.pk}/").status_code == 404  # as the API

    def test_the_requester_cancels_with_a_reason_and_goes_back(self, client, rep):
        order = ProgramOrderFactory(requested_by=rep)
        client.force_login(rep)
        response = client.post(f"/orders/{order.pk}/cancel/",
                               {"reason": "Event postponed", "next": "/orders/"})
        assert response.status_code == 302 and response.url == "/orders/"
        order.refresh_from_db()
        assert (order.status, order.reason) == (S.CANCELLED, "Event postponed")

    def test_someone_elses_order_is_not_theirs_to_cancel(self, client, rep, other_rep):
        order = ProgramOrderFactory(requested_by=other_rep)
        client.force_login(rep)
        assert client.post(f"/orders/{order.pk}/cancel/").status_code == 403
        assert client.post("/orders/999999999/cancel/").status_code == 404
        assert ProgramOrder.objects.get(pk=order.pk).status == S.REQUESTED

    def test_a_finished_order_says_why_it_cannot_be_cancelled(self, client, rep):
        order = ProgramOrderFactory(requested_by=rep, status=S.FULFILLED)
        client.force_login(rep)
        response = client.post(f"/orders/{order.pk}/cancel/", follow=True)
        assert "can cancel it only while it is requested or approved" in (
            response.content.decode())
        assert "Cancel this order" not in response.content.decode()  # none offered

    def test_an_unsafe_next_goes_to_the_order_page(self, client, rep):
        order = ProgramOrderFactory(requested_by=rep)
        client.force_login(rep)
        response = client.post(f"/orders/{order.pk}/cancel/", {"next": "https://evil.example"})
        assert response.url == f"/orders/{order.pk}/"

    def test_my_orders_flags_the_overdue_order(self, client, rep):
        late = ProgramOrderFactory(requested_by=rep, status=S.APPROVED,
                                   due_at=datetime(2020, 1, 1, tzinfo=UTC))
        client.force_login(rep)
        html = client.get("/orders/").content.decode()
        row = html.split(f'data-order="{late.pk}"')[1].split("</tr>")[0]
        assert 'class="badge overdue"' in row


class TestApprovalsKeepsWhatWasTyped:
    def test_ticks_and_reasons_come_back_with_the_errors(self, client, marketer):
        a, b = ProgramOrderFactory(), ProgramOrderFactory()
        client.force_login(marketer)
        response = client.post("/orders/approvals/", {
            "orders": [a.pk, b.pk], "decision": "reject", f"reason_{a.pk}": "Duplicate"})
        assert response.status_code == 400
        html = response.content.decode()
        assert f'value="{a.pk}" id="order-{a.pk}" checked' in html
        assert f'value="{b.pk}" id="order-{b.pk}" checked' in html
        assert 'value="Duplicate"' in html
        row_b = html.split(f'data-order="{b.pk}"')[1].split("</tr>")[0]
        assert "A reason is required to reject this order." in row_b
        assert set(ProgramOrder.objects.values_list("status", flat=True)) == {S.REQUESTED}
