import pytest

from plays.models import Play, PlayRun
from tests.factories import PlayFactory

pytestmark = pytest.mark.django_db


def body(items, **extra):
    return {"name": "Tier 1 welcome", "event": "account.tier_changed",
            "conditions": {"tier": [1], "topics": ["CRM software"], "buying_stage": ["decision"],
                           "fit_min": 70},
            "actions": [{"type": "suggest", "items": [items[0].pk, items[1].pk]},
                        {"type": "notify"},
                        {"type": "order", "items": [items[0].pk], "max_per_account": 1,
                         "period": "quarter"}],
            "is_active": True, **extra}


class TestCreate:
    def test_marketer_creates_a_play(self, api, marketer, items):
        response = api.as_user(marketer).post("/api/v1/plays/", body(items), format="json")
        assert response.status_code == 201, response.json()
        play = Play.objects.get()
        assert play.created_by == marketer
        # Topics are kept lower-cased (they are matched so); the rest as given.
        assert play.conditions == {"tier": [1], "topics": ["crm software"],
                                   "buying_stage": ["decision"], "fit_min": 70}
        assert play.actions[2] == {"type": "order", "items": [items[0].pk],
                                   "max_per_account": 1, "period": "quarter"}
        assert response.json()["created_by"] == "marketer1"

    def test_conditions_are_optional_and_order_defaults(self, api, abm_admin, items):
        response = api.as_user(abm_admin).post("/api/v1/plays/", {
            "name": "Any surge", "event": "account.surging",
            "actions": [{"type": "order", "items": [items[1].pk]}]}, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["conditions"] == {}
        assert response.json()["actions"] == [{"type": "order", "items": [items[1].pk],
                                               "max_per_account": 1, "period": "quarter"}]

    @pytest.mark.parametrize("role", ["rep", "nobody"])
    def test_reps_and_users_without_a_role_may_not(self, api, request, role, items):
        user = request.getfixturevalue(role)
        assert api.as_user(user).post("/api/v1/plays/", body(items),
                                      format="json").status_code == 403
        assert api.as_user(user).get("/api/v1/plays/").status_code == 403
        assert not Play.objects.exists()

    def test_anonymous_is_401(self, api, items):
        assert api.post("/api/v1/plays/", body(items), format="json").status_code == 401


class TestValidation:
    def post(self, api, marketer, data):
        response = api.as_user(marketer).post("/api/v1/plays/", data, format="json")
        assert response.status_code == 400, response.json()
        assert not Play.objects.exists()
        return response.json()

    def test_unknown_event_type(self, api, marketer, items):
        errors = self.post(api, marketer, body(items, event="account.exploded"))
        assert "account.exploded" in str(errors["event"])

    def test_items_off_every_menu(self, api, marketer, items):
        from tests.factories import ProgramItemFactory

        stray = ProgramItemFactory(name="Not on a menu")
        data = body(items)
        data["actions"][0]["items"] = [items[0].pk, stray.pk, 999999]
        errors = self.post(api, marketer, data)
        [suggest, notify, order] = errors["actions"]
        assert f"{stray.pk}, 999999" in str(suggest["items"])
        assert notify == {} and order == {}

    @pytest.mark.parametrize("conditions, field", [
        ({"tier": "1"}, "tier"), ({"tier": []}, "tier"), ({"tier": [True]}, "tier"),
        ({"topics": "crm"}, "topics"), ({"topics": [""]}, "topics"),
        ({"buying_stage": ["shopping"]}, "buying_stage"), ({"fit_min": 101}, "fit_min"),
        ({"fit_min": "70"}, "fit_min"), ({"colour": ["red"]}, "colour"),
    ])
    def test_malformed_conditions(self, api, marketer, items, conditions, field):
        errors = self.post(api, marketer, body(items, conditions=conditions))
        assert field in errors["conditions"]

    def test_conditions_not_an_object(self, api, marketer, items):
        errors = self.post(api, marketer, body(items, conditions=[1]))
        assert "object" in str(errors["conditions"])

    @pytest.mark.parametrize("actions", [
        [], "notify", [{"type": "teleport"}], [{"type": "suggest"}],
        [{"type": "suggest", "items": "12"}], [{"type": "notify", "items": [1]}],
        [{"type": "order", "items": [1], "period": "week"}],
        [{"type": "order", "items": [1], "max_per_account": 0}],
    ])
    def test_malformed_actions(self, api, marketer, items, actions):
        errors = self.post(api, marketer, body(items, actions=actions))
        assert "actions" in errors

    def test_blank_name(self, api, marketer, items):
        assert "name" in self.post(api, marketer, body(items, name="  "))


class TestReadUpdateDelete:
    def test_list_and_update(self, api, marketer, items):
        play = PlayFactory(name="Old")
        client = api.as_user(marketer)
        assert [p["name"] for p in client.get("/api/v1/plays/").json()["results"]] == ["Old"]
        response = client.patch(f"/api/v1/plays/{play.pk}/", {"is_active": False,
                                                                "name": "New"}, format="json")
        assert response.status_code == 200, response.json()
        play.refresh_from_db()
        assert (play.name, play.is_active) == ("New", False)
        bad = client.patch(f"/api/v1/plays/{play.pk}/", {"actions": []}, format="json")
        assert bad.status_code == 400 and "actions" in bad.json()
        assert client.delete(f"/api/v1/plays/{play.pk}/").status_code == 204
        assert not Play.objects.exists()

    def test_rep_may_not_change(self, api, rep):
        play = PlayFactory()
        assert api.as_user(rep).patch(f"/api/v1/plays/{play.pk}/", {"is_active": False},
                                      format="json").status_code == 403

    @pytest.mark.parametrize("size", [1, 50])
    def test_list_fixed_queries(self, api, marketer, size, django_assert_max_num_queries):
        for _ in range(size):
            PlayFactory()
        client = api.as_user(marketer)
        with django_assert_max_num_queries(5):
            response = client.get("/api/v1/plays/?page_size=100")
        assert response.json()["count"] == size


class TestLog:
    def test_log_is_paginated_newest_first(self, api, marketer, account):
        import uuid

        play = PlayFactory()
        for n in range(3):
            PlayRun.objects.create(play=play, event_id=uuid.uuid4(), account=account,
                                   event_type=play.event, reason=f"because {n}",
                                   results=[{"type": "notify", "done": True, "note": "n"}])
        response = api.as_user(marketer).get(f"/api/v1/plays/{play.pk}/log/?page_size=2")
        assert response.status_code == 200
        data = response.json()
        assert data["count"] == 3 and len(data["results"]) == 2
        first = data["results"][0]
        assert first["reason"] == "because 2" and first["account_name"] == "Acme"
        assert set(first) >= {"event_id", "event_type", "account", "results", "created_at"}

    def test_log_of_a_missing_play_is_404(self, api, marketer):
        assert api.as_user(marketer).get("/api/v1/plays/999999/log/").status_code == 404

    @pytest.mark.parametrize("size", [1, 50])
    def test_log_fixed_queries(self, api, marketer, account, size,
                               django_assert_max_num_queries):
        import uuid

        play = PlayFactory()
        PlayRun.objects.bulk_create([PlayRun(play=play, event_id=uuid.uuid4(), account=account,
                                             event_type=play.event) for _ in range(size)])
        client = api.as_user(marketer)
        with django_assert_max_num_queries(6):
            response = client.get(f"/api/v1/plays/{play.pk}/log/?page_size=100")
        assert len(response.json()["results"]) == size


class TestPreferencesApi:
    def test_every_role_reads_and_sets_their_own(self, api, rep):
        client = api.as_user(rep)
        assert client.get("/api/v1/notifications/preferences/").json() == {
            "digest": "daily", "immediate_6qa": False, "language": "",
            "slack_webhook_url": ""}
        response = client.put("/api/v1/notifications/preferences/",
                              {"immediate_6qa": True, "language": "en"}, format="json")
        assert response.status_code == 200, response.json()
        assert rep.abm_notification_preference.immediate_6qa is True

    def test_bad_values_are_400(self, api, rep):
        response = api.as_user(rep).put("/api/v1/notifications/preferences/",
                                        {"digest": "hourly", "language": "xx",
                                         "slack_webhook_url": "http://hooks.example/1"},
                                        format="json")
        assert response.status_code == 400
        assert set(response.json()) >= {"digest", "language", "slack_webhook_url"}

    def test_no_role_is_403(self, api, nobody):
        assert api.as_user(nobody).get("/api/v1/notifications/preferences/"
                                       ).status_code == 403


def test_list_filters(api, marketer):
    PlayFactory(name="A", event="account.surging")
    PlayFactory(name="B", is_active=False)
    client = api.as_user(marketer)
    names = lambda q: [p["name"] for p in client.get(f"/api/v1/plays/?{q}").json()["results"]]  # noqa: E731
    assert names("event=account.surging") == ["A"]
    assert names("is_active=false") == ["B"]
    assert client.get("/api/v1/plays/?event=nope").status_code == 400
    assert client.get("/api/v1/plays/?is_active=maybe").status_code == 400
