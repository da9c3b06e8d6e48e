import uuid

import pytest

from plays.models import NotificationPreference, Play, PlayRun, PlaySuggestion
from programs.models import ProgramOrder
from tests.factories import PlayFactory
from tests.plays.conftest import make_event

pytestmark = pytest.mark.django_db


def suggest(account, items, play=None):
    from plays import runner

    play = play or PlayFactory(name="Tier 1 welcome",
                               actions=[{"type": "suggest", "items": [i.pk for i in items]}])
    return runner.play_fire(play=play, account=account, event=make_event(
        "account.tier_changed", account, {"new_tier": {"number": 1}}))


class TestPlayPages:
    def test_marketer_creates_a_play_from_the_form(self, client, marketer, items):
        client.force_login(marketer)
        assert client.get("/plays/").status_code == 200
        response = client.post("/plays/", {
            "name": "Decision stage", "event": "account.buying_stage_changed",
            "buying_stage": ["decision"], "tier": ["1"], "fit_min": "60",
            "topics": "CRM, erp", "suggest": "1", "suggest_items": [str(items[0].pk)],
            "notify": "1", "is_active": "1"})
        assert response.status_code == 302
        play = Play.objects.get()
        assert play.conditions == {"tier": [1], "topics": ["crm", "erp"],
                                   "buying_stage": ["decision"], "fit_min": 60}
        assert play.actions == [{"type": "suggest", "items": [items[0].pk]}, {"type": "notify"}]

    def test_bad_form_is_400_with_the_fields_named(self, client, marketer, items):
        client.force_login(marketer)
        response = client.post("/plays/", {"name": "x", "event": "account.tier_changed",
                                           "fit_min": "200", "order": "1", "period": "week"})
        assert response.status_code == 400
        html = response.content.decode()
        assert 'data-field="conditions.fit_min"' in html
        assert 'data-field="actions.items"' in html and 'data-field="actions.period"' in html
        assert not Play.objects.exists()

    def test_edit_and_log(self, client, marketer, account, items):
        run = suggest(account, items[:1])
        client.force_login(marketer)
        html = client.get(f"/plays/{run.play_id}/").content.decode()
        assert f'data-event="{run.event_id}"' in html and "suggested to owner1" in html
        response = client.post(f"/plays/{run.play_id}/", {
            "name": "Renamed", "event": "account.tier_changed", "notify": "1"})
        assert response.status_code == 302
        play = Play.objects.get()
        assert (play.name, play.is_active, play.actions) == ("Renamed", False,
                                                             [{"type": "notify"}])
        client.post(f"/plays/{play.pk}/", {"delete": "1"})
        assert not Play.objects.exists()

    @pytest.mark.parametrize("role", ["rep", "nobody"])
    def test_only_marketers_and_admins(self, client, request, role):
        play = PlayFactory()
        client.force_login(request.getfixturevalue(role))
        assert client.get("/plays/").status_code == 403
        assert client.get(f"/plays/{play.pk}/").status_code == 403
        assert client.post("/plays/", {"name": "x"}).status_code == 403

    def test_anonymous_goes_to_login(self, client):
        assert client.get("/plays/").status_code == 302

    @pytest.mark.parametrize("size", [1, 50])
    def test_list_page_fixed_queries(self, client, abm_admin, items, size,
                                     django_assert_max_num_queries):
        for _ in range(size):
            PlayFactory()
        client.force_login(abm_admin)
        with django_assert_max_num_queries(12):
            response = client.get("/plays/")
        assert response.content.decode().count("data-play=") == size

    @pytest.mark.parametrize("size", [1, 50])
    def test_log_page_fixed_queries(self, client, marketer, account, size,
                                    django_assert_max_num_queries):
        play = PlayFactory()
        PlayRun.objects.bulk_create([PlayRun(play=play, event_id=uuid.uuid4(), account=account,
                                             event_type=play.event) for _ in range(size)])
        client.force_login(marketer)
        with django_assert_max_num_queries(12):
            response = client.get(f"/plays/{play.pk}/")
        assert response.content.decode().count("data-event=") == size


class TestNotificationsPage:
    @pytest.mark.parametrize("role", ["rep", "marketer", "abm_admin"])
    def test_every_role_sets_their_own(self, client, request, role):
        user = request.getfixturevalue(role)
        client.force_login(user)
        assert client.get("/notifications/").status_code == 200
        response = client.post("/notifications/", {"digest": "off", "immediate_6qa": "1",
                                                   "language": "ko"})
        assert response.status_code == 302
        preference = NotificationPreference.objects.get(user=user)
        assert (preference.digest, preference.immediate_6qa, preference.language) == (
            "off", True, "ko")

    def test_bad_values_are_400(self, client, rep):
        client.force_login(rep)
        response = client.post("/notifications/", {"digest": "hourly",
                                                   "slack_webhook_url": "not a url"})
        assert response.status_code == 400
        assert not NotificationPreference.objects.exists()

    def test_no_role_is_403(self, client, nobody):
        client.force_login(nobody)
        assert client.get("/notifications/").status_code == 403


class TestSuggestionsOnTheMenu:
    def test_menu_api_marks_suggested_items(self, api, owner, account, items):
        run = suggest(account, items[:1])
        lines = api.as_user(owner).get(f"/api/v1/accounts/{account.pk}/menu/").json()
        by_name = {line["name"]: line for line in lines}
        assert by_name["Gift box"]["suggested"] == {
            "play": run.play_id, "reason": "the account changed tier"}
        assert by_name["Custom ad"]["suggested"] is None

    def test_ordering_page_pre_ticks_and_says_why(self, client, owner, account, items):
        suggest(account, items[:1])
        client.force_login(owner)
        html = client.get(f"/accounts/{account.pk}/programs/").content.decode()
        row = html.split(f'data-item="{items[0].pk}"')[1].split("</tr>")[0]
        assert "checked" in row
        assert "Suggested by play “Tier 1 welcome”, because the account changed tier" in row
        other = html.split(f'data-item="{items[1].pk}"')[1].split("</tr>")[0]
        assert "checked" not in other and "Suggested" not in other

    def test_ordered_expired_or_switched_off_suggestions_go(self, api, owner, account, items):
        from datetime import timedelta

        from django.utils import timezone

        run = suggest(account, items[:2])
        url = f"/api/v1/accounts/{account.pk}/menu/"
        ProgramOrder.objects.create(account=account, item=items[0], cost=1,
                                    requested_by=owner)
        suggested = {line["id"] for line in api.as_user(owner).get(url).json()
                     if line["suggested"]}
        assert suggested == {items[1].pk}
        PlaySuggestion.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert not any(line["suggested"] for line in api.as_user(owner).get(url).json())
        PlaySuggestion.objects.update(expires_at=timezone.now() + timedelta(days=1))
        Play.objects.filter(pk=run.play_id).update(is_active=False)
        assert not any(line["suggested"] for line in api.as_user(owner).get(url).json())

    @pytest.mark.parametrize("size", [1, 30])
    def test_menu_api_fixed_queries_with_suggestions(self, api, owner, account, size,
                                                     django_assert_max_num_queries):
        from tests.factories import ProgramItemFactory

        made = [ProgramItemFactory(menu_tiers=[1]) for _ in range(size)]
        suggest(account, made)
        client = api.as_user(owner)
        with django_assert_max_num_queries(8):
            lines = client.get(f"/api/v1/accounts/{account.pk}/menu/").json()
        assert sum(1 for line in lines if line["suggested"]) == size
