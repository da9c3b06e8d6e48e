"""API tokens (abmcrm/core/tokens.py, api/authentication.py, the token views): issued for
ABMCRM_TOKEN_TTL, refused once expired, revoked by the user, by a password change and by a
deactivation; never a 500 for a malformed token."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from knox.models import AuthToken

from abmcrm.core import tokens

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REVOKE = "/api/v1/auth/token/revoke/"
ACCOUNTS = "/api/v1/accounts/"


def obtain(client, username="rep1", password="pass-word-1"):
    response = client.post(TOKEN, {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def with_token(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


class TestObtain:
    def test_answers_token_and_expiry_in_ttl(self, client, rep):
        before = timezone.now()
        body = obtain(client)
        assert set(body) == {"token", "expiry"}
        expiry = AuthToken.objects.get(user=rep).expiry
        assert before + timedelta(days=30) <= expiry <= timezone.now() + timedelta(days=30)
        assert body["expiry"].startswith(expiry.date().isoformat())
        assert client.get(ACCOUNTS, **with_token(body["token"])).status_code == 200

    def test_json_body_works_too(self, client, rep):
        response = client.post(TOKEN, {"username": "rep1", "password": "pass-word-1"},
                               content_type="application/json")
        assert response.status_code == 200 and response.json()["token"]

    def test_only_a_hash_is_stored(self, client, rep):
        token = obtain(client)["token"]
        stored = AuthToken.objects.get(user=rep)
        assert token not in (stored.digest, stored.token_key) and token.startswith(
            stored.token_key)

    def test_each_client_gets_its_own_token(self, client, rep):
        first, second = obtain(client)["token"], obtain(client)["token"]
        assert first != second and AuthToken.objects.filter(user=rep).count() == 2

    @pytest.mark.parametrize("ttl,expected", [(None, None), (3600, timedelta(hours=1)),
                                              (timedelta(days=2), timedelta(days=2))])
    def test_ttl_setting(self, client, rep, settings, ttl, expected):
        settings.ABMCRM_TOKEN_TTL = ttl
        body = obtain(client)
        expiry = AuthToken.objects.get(user=rep).expiry
        if expected is None:
            assert expiry is None and body["expiry"] is None
        else:
            assert abs(expiry - (timezone.now() + expected)) < timedelta(minutes=1)

    def test_issuing_tidies_the_users_expired_tokens(self, rep, other_rep):
        old, _ = AuthToken.objects.create(user=rep, expiry=timedelta(seconds=-1))
        others, _ = AuthToken.objects.create(user=other_rep, expiry=timedelta(seconds=-1))
        tokens.token_issue(user=rep)
        assert not AuthToken.objects.filter(pk=old.pk).exists()
        assert AuthToken.objects.filter(pk=others.pk).exists()  # not this user's to tidy

    @pytest.mark.parametrize("body", [{"username": "rep1"}, {"password": "x"}, {}])
    def test_missing_fields_are_field_errors(self, client, rep, body):
        response = client.post(TOKEN, body)
        assert response.status_code == 400
        assert set(response.json()) <= {"username", "password"}

    def test_a_json_list_is_a_400(self, client, rep):
        response = client.post(TOKEN, "[1, 2]", content_type="application/json")
        assert response.status_code == 400

    def test_inactive_user_gets_no_token(self, client, rep):
        rep.is_active = False
        rep.save()
        response = client.post(TOKEN, {"username": "rep1", "password": "pass-word-1"})
        assert response.status_code == 400 and "non_field_errors" in response.json()


class TestAuthentication:
    def test_expired_token_is_refused_and_deleted(self, client, rep):
        instance, token = AuthToken.objects.create(user=rep, expiry=timedelta(seconds=-1))
        response = client.get(ACCOUNTS, **with_token(token))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert not AuthToken.objects.filter(pk=instance.pk).exists()

    def test_one_request_checks_its_own_token_in_one_query(self, client, rep,
                                                           django_assert_num_queries):
        token = obtain(client)["token"]
        for _ in range(3):  # other tokens of the user are not looked through
            AuthToken.objects.create(user=rep, expiry=timedelta(seconds=-1))
        from abmcrm.core.api.authentication import TokenAuthentication

        with django_assert_num_queries(1):
            user, _ = TokenAuthentication().authenticate_credentials(token.encode())
        assert user == rep

    @pytest.mark.parametrize("header", [b"Token \xff\xfe", "Token abc\x00def", "Token ",
                                        "Token a b", "Token " + "0" * 10_000])
    def test_malformed_tokens_are_401s(self, client, rep, header):
        if isinstance(header, bytes):
            header = header.decode("latin-1")  # as a WSGI server passes the raw bytes on
        response = client.get(ACCOUNTS, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response.json()["detail"]

    def test_deactivated_user_is_refused_even_with_a_token_left(self, client, rep):
        instance, token = AuthToken.objects.create(user=rep, expiry=timedelta(days=1))
        get_user_model().objects.filter(pk=rep.pk).update(is_active=False)  # no signal
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 401


class TestRevocation:
    def test_user_revokes_the_token_they_use(self, client, rep):
        first, second = obtain(client)["token"], obtain(client)["token"]
        response = client.post(REVOKE, **with_token(first))
        assert response.status_code == 204
        assert client.get(ACCOUNTS, **with_token(first)).status_code == 401
        assert client.get(ACCOUNTS, **with_token(second)).status_code == 200

    def test_all_revokes_every_token_of_the_user_only(self, client, rep, other_rep):
        first, second = obtain(client)["token"], obtain(client)["token"]
        theirs = obtain(client, "rep2")["token"]
        response = client.post(REVOKE, {"all": True}, content_type="application/json",
                               **with_token(first))
        assert response.status_code == 204
        for token in (first, second):
            assert client.get(ACCOUNTS, **with_token(token)).status_code == 401
        assert client.get(ACCOUNTS, **with_token(theirs)).status_code == 200

    def test_revoke_needs_a_token(self, client, rep):
        assert client.post(REVOKE).status_code == 401
        client.force_login(rep)  # a browser session has no token to revoke
        assert client.post(REVOKE).status_code == 401

    def test_bad_all_value_is_a_400(self, client, rep):
        token = obtain(client)["token"]
        response = client.post(REVOKE, {"all": "maybe"}, content_type="application/json",
                               **with_token(token))
        assert response.status_code == 400 and "all" in response.json()
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 200

    def test_password_change_revokes_every_token(self, client, rep):
        token = obtain(client)["token"]
        rep.set_password("a-new-pass-word")
        rep.save()
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 401
        assert not AuthToken.objects.filter(user=rep).exists()
        assert obtain(client, password="a-new-pass-word")["token"]

    def test_password_change_through_the_admin_form_revokes(self, client, rep):
        from django.contrib.auth.forms import SetPasswordForm

        token = obtain(client)["token"]
        form = SetPasswordForm(rep, {"new_password1": "Another-pass-99",
                                     "new_password2": "Another-pass-99"})
        assert form.is_valid(), form.errors
        form.save()
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 401

    def test_unusable_password_revokes(self, client, rep):
        token = obtain(client)["token"]
        rep.set_unusable_password()
        rep.save()
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 401

    def test_deactivation_revokes(self, client, rep):
        token = obtain(client)["token"]
        rep.is_active = False
        rep.save(update_fields=["is_active"])
        assert not AuthToken.objects.filter(user=rep).exists()
        rep.is_active = True
        rep.save()
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 401

    def test_other_saves_keep_tokens(self, client, rep):
        token = obtain(client)["token"]
        rep.first_name = "Rita"
        rep.save()
        client.force_login(rep)  # updates last_login
        client.logout()
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 200

    def test_rehash_on_login_is_no_password_change(self, client, rep, settings):
        """Django saves a new hash of the same password when the hasher changes; the
        user's tokens stay."""
        token = obtain(client)["token"]
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                     "django.contrib.auth.hashers.MD5PasswordHasher"]
        old_hash = get_user_model().objects.get(pk=rep.pk).password
        assert client.login(username="rep1", password="pass-word-1")
        assert get_user_model().objects.get(pk=rep.pk).password != old_hash  # rehashed
        assert client.get(ACCOUNTS, **with_token(token)).status_code == 200
