import uuid

import pytest
from django.utils import timezone

from plays.models import Alert, Play, PlayRun
from tests.factories import PlayFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize("path", ["play", "playrun", "alert"])
def test_changelists_fixed_queries(client, abm_admin, account, owner, rows, path,
                                   django_assert_max_num_queries):
    for _ in range(rows):
        play = PlayFactory()
        event_id = uuid.uuid4()
        PlayRun.objects.create(play=play, event_id=event_id, account=account,
                               event_type=play.event)
        Alert.objects.create(user=owner, event_id=event_id, event_type=play.event,
                             account=account, occurred_at=timezone.now())
    client.force_login(abm_admin)
    with django_assert_max_num_queries(14):
        assert client.get(f"/admin/plays/{path}/").status_code == 200


def test_admin_validates_a_play_as_the_api_does(client, abm_admin, items):
    client.force_login(abm_admin)
    response = client.post("/admin/plays/play/add/", {
        "name": "Bad", "event": "account.tier_changed", "conditions": '{"fit_min": 500}',
        "actions": '[{"type": "suggest", "items": [999999]}]', "is_active": "on"})
    assert response.status_code == 200 and not Play.objects.exists()
    assert "from 0 to 100" in response.content.decode()
    response = client.post("/admin/plays/play/add/", {
        "name": "Good", "event": "account.surging", "conditions": '{"topics": ["CRM"]}',
        "actions": f'[{{"type": "suggest", "items": [{items[0].pk}]}}]', "is_active": "on"})
    assert response.status_code == 302
    play = Play.objects.get()
    assert (play.conditions, play.created_by) == ({"topics": ["crm"]}, abm_admin)
