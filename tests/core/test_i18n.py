"""Four languages: the pages follow the browser's language (Accept-Language) or the picker's
choice, with the locale's dates and numbers; the API's error messages follow Accept-Language
while its field names and codes stay English."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import AccountFactory, tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(rep):
    return AccountFactory(owner=rep, tier=tier(1), employees=12500, estimated_acv=40000,
                          scored_at=timezone.make_aware(datetime.datetime(2026, 3, 5, 14, 30)))


class TestPages:
    def test_english_without_a_preference(self, client, rep, account):
        client.force_login(rep)
        html = client.get("/accounts/").content.decode()
        assert '<html lang="en">' in html
        assert ">Accounts</a>" in html and "12,500" in html and "40,000\xa0USD" in html

    def test_the_browsers_language_korean(self, client, rep, account):
        client.force_login(rep)
        html = client.get("/accounts/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9").content.decode()
        assert '<html lang="ko">' in html
        assert ">어카운트</a>" in html  # the navigation
        assert "로그아웃" in html and "티어 1" in html
        assert "12,500" in html and "40,000\xa0USD" in html

    def test_korean_dates(self, client, rep, account):
        client.force_login(rep)
        html = client.get(f"/accounts/{account.pk}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert "2026년 3월 5일 2:30 오후" in html

    def test_indonesian_numbers_group_with_dots(self, client, rep, account):
        client.force_login(rep)
        html = client.get("/accounts/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
        assert ">Akun</a>" in html and "12.500" in html and "40.000\xa0USD" in html

    def test_traditional_chinese(self, client, rep, account):
        client.force_login(rep)
        html = client.get("/accounts/", HTTP_ACCEPT_LANGUAGE="zh-TW").content.decode()
        assert '<html lang="zh-hant">' in html and ">帳戶</a>" in html

    def test_the_picker_switches_and_remembers(self, client, rep, account):
        client.force_login(rep)
        page = client.get("/accounts/").content.decode()
        assert 'action="/i18n/setlang/"' in page and 'name="csrfmiddlewaretoken"' in page
        response = client.post("/i18n/setlang/", {"language": "ko", "next": "/accounts/"})
        assert response.status_code == 302 and response["Location"] == "/accounts/"
        # The choice beats the browser's language from now on.
        html = client.get("/accounts/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
        assert ">어카운트</a>" in html and '<option value="ko" lang="ko" selected>' in html

    def test_the_login_page_has_the_picker(self, client):
        html = client.get("/login/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert 'data-testid="language-picker"' in html and "로그인" in html

    def test_a_flash_message_in_korean(self, client, marketer, account):
        client.force_login(marketer)
        client.post(f"/accounts/{account.pk}/tier/", {"tier": "2", "reason": "전략 고객"},
                    HTTP_ACCEPT_LANGUAGE="ko")
        html = client.get(f"/accounts/{account.pk}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert "티어를 변경하고 잠갔습니다." in html


class TestApi:
    def test_our_messages_follow_accept_language_codes_stay_english(self, api, marketer, account):
        client = api.as_user(marketer)
        url = f"/api/v1/accounts/{account.pk}/tier-unlock/"
        english = client.post(url, {}, format="json")
        assert english.status_code == 409
        assert english.json() == {"detail": "The account's tier is not locked."}
        korean = client.post(url, {}, format="json", HTTP_ACCEPT_LANGUAGE="ko")
        assert korean.json() == {"detail": "어카운트의 티어가 잠겨 있지 않습니다."}

    def test_field_errors_translated_under_english_field_names(self, api, marketer, account):
        response = api.as_user(marketer).post(
            f"/api/v1/accounts/{account.pk}/tier-override/", {"tier": 7}, format="json",
            HTTP_ACCEPT_LANGUAGE="zh-Hant")
        assert response.status_code == 400
        body = response.json()
        assert set(body) == {"tier", "reason"}
        assert body["tier"] == ["沒有 Tier 7。"]  # ours
        assert body["reason"] == ["此為必需欄位。"]  # Django REST framework's own

    def test_a_permission_message_and_its_code(self, api, rep, account):
        response = api.as_user(rep).post("/api/v1/orders/", {"account": account.pk,
                                                             "items": [999999]},
                                         format="json", HTTP_ACCEPT_LANGUAGE="id")
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "unknown_items"
        assert body["detail"] == "Tidak ada item program dengan id 999999."


class TestUserLanguage:
    """abmcrm.core.i18n: the language a user reads e-mails in, wherever an app keeps it (the
    plays app's notification preferences here), else the site's."""

    def test_the_chosen_language_else_the_sites(self, rep, marketer, abm_admin, settings,
                                                django_assert_num_queries):
        from abmcrm.core import i18n
        from plays.models import NotificationPreference

        NotificationPreference.objects.create(user=rep, language="ko")
        NotificationPreference.objects.create(user=marketer, language="id")
        settings.LANGUAGE_CODE = "zh-hant"
        with django_assert_num_queries(1):  # one query for any number of users
            assert i18n.users_languages([rep, marketer, abm_admin]) == {
                rep.pk: "ko", marketer.pk: "id", abm_admin.pk: "zh-hant"}
        assert i18n.users_by_language([rep, abm_admin, marketer]) == [
            ("ko", [rep]), ("zh-hant", [abm_admin]), ("id", [marketer])]

    def test_a_language_no_longer_offered_is_the_sites(self, rep):
        from abmcrm.core import i18n
        from plays.models import NotificationPreference

        NotificationPreference.objects.create(user=rep, language="fr")
        assert i18n.user_language(rep) == "en"
        NotificationPreference.objects.filter(user=rep).update(language="ko-KR")
        assert i18n.user_language(type(rep).objects.get(pk=rep.pk)) == "ko"


class TestDeferredMessages:
    def test_translated_when_read(self):
        from django.utils import translation

        from abmcrm.core.i18n import deferred, english, translated, translated_tree

        message = deferred("Ignored unknown column(s): %(columns)s.", columns="x")
        with translation.override("ko"):
            assert translated(message) == "알 수 없는 열은 무시했습니다: x."
            tree = translated_tree([{"line": 2, "errors": {"name": [
                "This field is required.", message, "not a msgid: kept"]}}])
        assert tree == [{"line": 2, "errors": {"name": [
            "이 필드는 필수 항목입니다.", "알 수 없는 열은 무시했습니다: x.",
            "not a msgid: kept"]}}]
        with translation.override("id"):
            assert english(message) == "Ignored unknown column(s): x."

    def test_values_are_data_not_messages(self):
        from django.utils import translation

        from abmcrm.core.i18n import deferred, translated

        message = deferred("Ignored unknown column(s): %(columns)s.",
                           columns="This field is required.")
        with translation.override("id"):
            assert translated(message) == (
                "Kolom tidak dikenal diabaikan: This field is required..")
