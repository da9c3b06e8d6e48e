from functools import partial

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from programs.models import OrderEvent, ProgramOrder
from tests.conftest import fire_together
from tests.factories import MarketerFactory, ProgramOrderFactory

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status


def url(order, action):
    return f"/api/v1/orders/{order.pk}/{action}/"


class TestPermissions:
    @pytest.mark.parametrize("action,data", [("claim", {}), ("complete", {}),
                                             ("fail", {"reason": "x"}), ("retry", {})])
    def test_reps_and_users_without_a_role_may_not(self, api, rep, nobody, action, data):
        order = ProgramOrderFactory(status=S.APPROVED, requested_by=rep)
        for user in (rep, nobody):
            response = api.as_user(user).post(url(order, action), data, format="json")
            assert response.status_code == 403
        assert ProgramOrder.objects.get(pk=order.pk).status == S.APPROVED
        assert not OrderEvent.objects.exists()

    def test_anonymous_gets_401(self, client):
        order = ProgramOrderFactory(status=S.APPROVED)
        assert client.post(url(order, "claim")).status_code == 401

    @pytest.mark.parametrize("who", ["marketer", "abm_admin"])
    def test_marketers_and_admins_may(self, api, request, who):
        user = request.getfixturevalue(who)
        order = ProgramOrderFactory(status=S.APPROVED)
        response = api.as_user(user).post(url(order, "claim"))
        assert response.status_code == 200
        assert response.json()["status"] == "in_progress"
        assert response.json()["assignee"] == user.pk


ACTIONS = ["claim", "complete", "fail", "retry", "approve", "reject", "cancel"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("order_id", ["abc", "99999999999999999999", "9" * 5000, "0", "424242"],
                         ids=["letters", "past-bigint", "5000-digits", "zero", "missing"])
def test_an_unknown_order_is_a_404_whatever_the_body(api, marketer, action, order_id):
    # Letters and thousands of digits were a 500; and the order is looked up before the body
    # is checked (an empty `fail` body was a 400 about its reason).
    response = api.as_user(marketer).post(f"/api/v1/orders/{order_id}/{action}/", {},
                                          format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."  # no model name


class TestActions:
    def test_claim_then_complete(self, api, marketer):
        order = ProgramOrderFactory(status=S.APPROVED)
        client = api.as_user(marketer)
        assert client.post(url(order, "claim")).status_code == 200
        response = client.post(url(order, "complete"), {"external_reference": "FedEx 123",
                                                        "note": "Signed for"}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["status"], body["external_reference"]) == (
            order.pk, "fulfilled", "FedEx 123")
        assert body["closed_at"] and body["fulfillments"] == []
        assert list(OrderEvent.objects.filter(order=order).values_list(
            "from_status", "to_status", "by", "note")) == [
            ("approved", "in_progress", marketer.pk, "Claimed."),
            ("in_progress", "fulfilled", marketer.pk, "Signed for")]

    def test_claiming_twice_is_a_conflict(self, api, marketer, abm_admin):
        order = ProgramOrderFactory(status=S.APPROVED)
        assert api.as_user(marketer).post(url(order, "claim")).status_code == 200
        response = api.as_user(abm_admin).post(url(order, "claim"))
        assert response.status_code == 409
        assert response.json()["code"] == "not_claimable"
        assert "marketer1" in response.json()["detail"]

    @pytest.mark.parametrize("data,errors", [
        ({}, {"reason": ["This field is required."]}),
        ({"reason": "   "}, {"reason": ["This field may not be blank."]}),
        ({"reason": "x" * 2001}, {"reason": ["Ensure this field has no more than 2000 "
                                             "characters."]}),
    ])
    def test_fail_needs_a_reason(self, api, marketer, data, errors):
        order = ProgramOrderFactory(status=S.IN_PROGRESS)
        response = api.as_user(marketer).post(url(order, "fail"), data, format="json")
        assert response.status_code == 400
        assert response.json() == errors
        assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS

    def test_fail_and_retry(self, api, marketer):
        order = ProgramOrderFactory(status=S.IN_PROGRESS)
        client = api.as_user(marketer)
        response = client.post(url(order, "fail"), {"reason": "Event cancelled"},
                               format="json")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["reason"]) == (
            "failed", "Event cancelled")
        response = client.post(url(order, "retry"), {"note": "Rescheduled"}, format="json")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["reason"]) == ("approved", "")
        assert OrderEvent.objects.filter(order=order).last().note == "Rescheduled"

    @pytest.mark.parametrize("status,action", [
        (S.REQUESTED, "claim"), (S.FULFILLED, "complete"), (S.CANCELLED, "fail"),
        (S.APPROVED, "retry"), (S.IN_PROGRESS, "claim"),
    ])
    def test_wrong_status_is_409(self, api, marketer, status, action):
        order = ProgramOrderFactory(status=status)
        response = api.as_user(marketer).post(url(order, action), {"reason": "r"},
                                              format="json")
        assert response.status_code == 409
        assert ProgramOrder.objects.get(pk=order.pk).status == status

    def test_bad_input(self, api, marketer):
        order = ProgramOrderFactory(status=S.APPROVED)
        client = api.as_user(marketer)
        assert client.post("/api/v1/orders/999999/claim/").status_code == 404
        response = client.post(url(order, "complete"), {"external_reference": "x" * 201},
                               format="json")
        assert response.status_code == 400 and "external_reference" in response.json()
        assert client.get(url(order, "claim")).status_code == 405

    def test_schema_documents_the_actions_and_the_webhook(self, tmp_path, capsys):
        out = tmp_path / "schema.yaml"
        call_command("spectacular", "--validate", "--file", str(out))
        # (Warnings from other apps are theirs; this app's views generate cleanly.)
        assert "programs/" not in capsys.readouterr().err
        schema = out.read_text()
        for path in ("/api/v1/orders/{id}/claim/", "/api/v1/orders/{id}/complete/",
                     "/api/v1/orders/{id}/fail/", "/api/v1/orders/{id}/retry/",
                     "/api/v1/providers/{name}/webhook/"):
            assert path in schema


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers, so there is no race to test")
def test_concurrent_claims_one_wins(api):
    marketers = [MarketerFactory(username=f"m{i}") for i in range(8)]
    for _ in range(3):
        order = ProgramOrderFactory(status=S.APPROVED)

        def claim(user, order=order):
            client = APIClient()
            client.force_authenticate(user)
            return client.post(url(order, "claim")).status_code

        codes = fire_together([partial(claim, marketer) for marketer in marketers])
        assert sorted(codes) == [200] + [409] * (len(marketers) - 1)
        assert OrderEvent.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("status, action, message", [
    (S.APPROVED, "retry", "is approved; only a failed order can be retried."),
    (S.FAILED, "fail", "is failed; it cannot be marked failed (only approved or in progress "
                       "orders can be)."),
    (S.IN_PROGRESS, "cancel", "is in progress; it cannot be cancelled (only requested or "
                              "approved orders can be)."),
])
def test_a_refused_move_says_which_orders_could(api, marketer, rep, status, action, message):
    order = ProgramOrderFactory(status=status, requested_by=rep)
    response = api.as_user(marketer).post(url(order, action), {"reason": "x"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": f"Order #{order.pk} {message}",
                               "code": "invalid_transition"}
    assert ProgramOrder.objects.get(pk=order.pk).status == status


def test_a_rep_cancels_only_before_fulfillment_starts(api, rep):
    order = ProgramOrderFactory(status=S.IN_PROGRESS, requested_by=rep)
    response = api.as_user(rep).post(url(order, "cancel"), {}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == (f"Order #{order.pk} is in progress; its requester can "
                                         f"cancel it only while it is requested or approved.")
    assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS
