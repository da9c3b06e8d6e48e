import time
from datetime import timedelta

import pytest
from django.utils import timezone

from programs.models import Fulfillment, ProgramOrder
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    ProgramItemFactory,
    ProgramOrderFactory,
    RepFactory,
    tier,
)

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
QUEUE = "/fulfillment/"


def queued(status=S.APPROVED, due_in_days=5, **kwargs):
    now = timezone.now()
    return ProgramOrderFactory(status=status, approved_at=now - timedelta(days=1),
                               due_at=now + timedelta(days=due_in_days), **kwargs)


def rows(response):
    return [order.pk for order in response.context["page"]]


class TestAccess:
    def test_anonymous_goes_to_login(self, client):
        response = client.get(QUEUE)
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_reps_and_users_without_a_role_are_refused(self, client, rep, nobody):
        order = queued()
        for user in (rep, nobody):
            client.force_login(user)
            assert client.get(QUEUE).status_code == 403
            assert client.post(f"{QUEUE}{order.pk}/claim/").status_code == 403
        assert ProgramOrder.objects.get(pk=order.pk).status == S.APPROVED

    @pytest.mark.parametrize("who", ["marketer", "abm_admin"])
    def test_marketers_and_admins_see_it_and_the_nav_link(self, client, request, who):
        client.force_login(request.getfixturevalue(who))
        response = client.get(QUEUE)
        assert response.status_code == 200
        assert b'href="/fulfillment/" aria-current="page">Fulfillment</a>' in response.content

    def test_reps_have_no_nav_link(self, client, rep):
        client.force_login(rep)
        assert b"/fulfillment/" not in client.get("/accounts/").content


class TestQueue:
    def test_approved_and_in_progress_oldest_due_first_with_details(self, client, marketer):
        contact = ContactFactory(first_name="Grace", last_name="Hopper")
        account = contact.account
        account.tier = tier(1)
        account.save()
        later = queued(due_in_days=9)
        overdue = queued(due_in_days=-2, account=account, contact=contact, tier=tier(1),
                         requested_by=RepFactory(username="alice"))
        started = queued(status=S.IN_PROGRESS, due_in_days=3, assignee=marketer)
        for status in (S.REQUESTED, S.FULFILLED, S.FAILED, S.CANCELLED):
            queued(status=status)
        client.force_login(marketer)
        response = client.get(QUEUE)
        assert rows(response) == [overdue.pk, started.pk, later.pk]
        row = response.content.decode().split(f'data-order="{overdue.pk}"')[1].split("</tr>")[0]
        for text in (account.name, "Tier 1", overdue.item.name, "Grace Hopper", "alice",
                     "overdue", "1\xa0day", "Claim", "Mark fulfilled", "Mark failed"):
            assert text in row
        assert "overdue" not in response.content.decode().split(
            f'data-order="{later.pk}"')[1].split("</tr>")[0]
        counts = response.context["counts"]
        assert (counts["approved"], counts["in_progress"], counts["failed"],
                counts["overdue"]) == (2, 1, 1, 1)

    def test_filters(self, client, marketer, abm_admin):
        campaign = CampaignFactory(name="Q3 gifting")
        ad = queued(item=ProgramItemFactory(kind="account_based_ad", campaign=campaign))
        mine = queued(status=S.IN_PROGRESS, assignee=marketer)
        theirs = queued(status=S.IN_PROGRESS, assignee=abm_admin)
        late = queued(due_in_days=-1)
        failed = queued(status=S.FAILED, reason="Bounced")
        client.force_login(marketer)
        cases = {
            "status=failed": [failed.pk],
            "status=in_progress": [mine.pk, theirs.pk],
            "kind=account_based_ad": [ad.pk],
            f"campaign={campaign.pk}": [ad.pk],
            "assignee=me": [mine.pk],
            f"assignee={abm_admin.pk}": [theirs.pk],
            "assignee=none": [late.pk, ad.pk],
            "overdue=true": [late.pk],
            "overdue=false&assignee=none": [ad.pk],
        }
        for query, expected in cases.items():
            assert sorted(rows(client.get(f"{QUEUE}?{query}"))) == sorted(expected), query
        response = client.get(f"{QUEUE}?status=bogus")
        assert response.status_code == 200 and rows(response) == []
        # Values that name nothing are said to be wrong, not shown as an empty queue or as
        # the whole queue.
        for query, message in [("assignee=abc", "Give a user id, `me` or `none`."),
                               ("overdue=maybe", "Give true or false.")]:
            response = client.get(f"{QUEUE}?{query}")
            assert response.status_code == 200 and rows(response) == [], query
            assert message in response.content.decode().replace("&#x60;", "`"), query

    def test_shows_provider_state_and_last_error(self, client, marketer):
        order = queued(item=ProgramItemFactory(fulfillment_method="gifting"))
        Fulfillment.objects.create(order=order, provider="gifting", idempotency_key="k1",
                                   last_error="Could not be queued (will be resent): down")
        client.force_login(marketer)
        response = client.get(QUEUE)
        assert response.context["counts"]["waiting_to_be_sent"] == 1
        text = response.content.decode()
        assert "gifting: waiting to be sent (queued by the sweeper)" in text
        assert "Could not be queued (will be resent): down" in text

    def test_fixed_number_of_queries_whatever_the_page(self, client, marketer,
                                                       django_assert_max_num_queries):
        def one_page_queries():
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as captured:
                assert client.get(QUEUE).status_code == 200
            return len(captured)

        client.force_login(marketer)
        queued(contact=ContactFactory(), item=ProgramItemFactory(fulfillment_method="gifting"))
        one = one_page_queries()
        for _ in range(49):
            queued(contact=ContactFactory(), tier=tier(2), assignee=marketer)
        assert one_page_queries() == one
        with django_assert_max_num_queries(one):
            client.get(QUEUE)

    def test_a_queue_of_5000_is_paginated_in_the_same_queries(self, client, marketer,
                                                               django_assert_max_num_queries):
        item = ProgramItemFactory()
        accounts = [AccountFactory() for _ in range(20)]
        requester = RepFactory()
        now = timezone.now()
        ProgramOrder.objects.bulk_create([
            ProgramOrder(account=accounts[i % 20], item=item, cost=10, requested_by=requester,
                         status=S.APPROVED if i % 3 else S.IN_PROGRESS,
                         approved_at=now - timedelta(days=3), tier=tier(1 + i % 3),
                         due_at=now + timedelta(minutes=i - 100, seconds=30))
            for i in range(5000)
        ])
        client.force_login(marketer)
        client.get(QUEUE)
        with django_assert_max_num_queries(12):
            started = time.monotonic()
            response = client.get(f"{QUEUE}?page=40")
            elapsed = time.monotonic() - started
        assert response.context["page"].paginator.count == 5000
        assert len(rows(response)) == 50 and elapsed < 2
        assert response.context["counts"]["overdue"] == 100


class TestActionsOnThePage:
    def test_claim_then_mark_fulfilled(self, client, marketer):
        order = queued()
        client.force_login(marketer)
        response = client.post(f"{QUEUE}{order.pk}/claim/", {"next": f"{QUEUE}?kind=gift"})
        assert response.status_code == 302 and response["Location"] == f"{QUEUE}?kind=gift"
        order.refresh_from_db()
        assert (order.status, order.assignee) == (S.IN_PROGRESS, marketer)
        response = client.post(f"{QUEUE}{order.pk}/complete/",
                               {"external_reference": "DHL 42", "note": "Done"}, follow=True)
        order.refresh_from_db()
        assert (order.status, order.external_reference) == (S.FULFILLED, "DHL 42")
        assert "marked fulfilled" in response.content.decode()

    def test_fail_without_a_reason_changes_nothing(self, client, marketer):
        order = queued()
        client.force_login(marketer)
        response = client.post(f"{QUEUE}{order.pk}/fail/", {"reason": ""}, follow=True)
        # Which order, as the page lists many.
        assert (f"Order #{order.pk} ({order.item} for {order.account}): Say why the order "
                f"failed.") in response.content.decode()
        assert ProgramOrder.objects.get(pk=order.pk).status == S.APPROVED
        client.post(f"{QUEUE}{order.pk}/fail/", {"reason": "No address"})
        order.refresh_from_db()
        assert (order.status, order.reason) == (S.FAILED, "No address")
        client.post(f"{QUEUE}{order.pk}/retry/", {"note": "New address from the rep"})
        assert ProgramOrder.objects.get(pk=order.pk).status == S.APPROVED
        assert order.events.order_by("-pk").first().note == "New address from the rep"

    def test_conflicts_and_bad_requests(self, client, marketer):
        order = queued(status=S.FULFILLED)
        client.force_login(marketer)
        response = client.post(f"{QUEUE}{order.pk}/claim/", {"next": "https://evil.example/"},
                               follow=True)
        assert response.redirect_chain[0][0] == "/fulfillment/"
        assert "only an approved order can be claimed" in response.content.decode()
        assert client.post(f"{QUEUE}{order.pk}/explode/").status_code == 404
        assert client.post(f"{QUEUE}999999/claim/").status_code == 404
        assert client.get(f"{QUEUE}{order.pk}/claim/").status_code == 405


def test_admin_lists_fulfillments_and_queues_again(client, fake_provider,
                                                   django_assert_max_num_queries):
    from django.contrib.auth import get_user_model

    superuser = get_user_model().objects.create_superuser("root", "r@example.com", "pw-pw-pw-1")
    orders = [queued(item=ProgramItemFactory(fulfillment_method="ad_audience"))
              for _ in range(3)]
    for order in orders:
        Fulfillment.objects.create(order=order, provider="ad_audience",
                                   idempotency_key=f"key-{order.pk}")
    client.force_login(superuser)
    with django_assert_max_num_queries(12):
        assert client.get("/admin/programs/fulfillment/").status_code == 200
    response = client.post("/admin/programs/fulfillment/", {
        "action": "queue_again", "_selected_action": [orders[0].fulfillments.get().pk]})
    assert response.status_code == 302
    assert ProgramOrder.objects.get(pk=orders[0].pk).status == S.FULFILLED
    assert ProgramOrder.objects.get(pk=orders[1].pk).status == S.APPROVED


class TestBeingSent:
    def test_an_order_being_sent_offers_no_manual_action(self, client, marketer):
        item = ProgramItemFactory(fulfillment_method="ad_audience")
        sending = queued(item=item)
        Fulfillment.objects.create(order=sending, provider="ad_audience", state="sending",
                                   idempotency_key="k-sending", attempts=1)
        waiting = queued(item=item)
        Fulfillment.objects.create(order=waiting, provider="ad_audience",
                                   idempotency_key="k-waiting")
        client.force_login(marketer)
        html = client.get(QUEUE).content.decode()
        row = html[html.index(f'data-order="{sending.pk}"'):]
        row = row[:row.index("</tr>")]
        assert "Being sent" in row and 'name="claim"' not in row
        row = html[html.index(f'data-order="{waiting.pk}"'):]
        row = row[:row.index("</tr>")]
        assert 'name="claim"' in row and "Being sent" not in row
        # And the action itself is refused, not only hidden.
        response = client.post(f"{QUEUE}{sending.pk}/claim/", {"next": QUEUE}, follow=True)
        assert ProgramOrder.objects.get(pk=sending.pk).status == S.APPROVED
        assert b"being sent through its provider" in response.content
