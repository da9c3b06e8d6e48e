"""API tokens: django-rest-knox's AuthToken (stored hashed, one per client that asked for
one, each with an expiry), issued for ABMCRM_TOKEN_TTL and revoked when their user's password
changes or the user is deactivated (docs/internals/design-decisions.md says why knox)."""

from datetime import timedelta

from django.utils import timezone
from knox.models import AuthToken

from .conf import settings


def token_ttl():
    """ABMCRM_TOKEN_TTL as a timedelta (None: tokens never expire)."""
    value = settings.ABMCRM_TOKEN_TTL
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


def token_issue(*, user):
    """A new token for `user`: (AuthToken, the token's text, shown once: only its hash is
    kept). The user's expired tokens are deleted on the way, so none pile up."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return AuthToken.objects.create(user=user, expiry=token_ttl())


def token_revoke(*, token):
    token.delete()


def tokens_revoke_all(*, user):
    """Revoke every token of `user`; returns how many there were."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def _fields_of(model):
    return {field.attname for field in model._meta.concrete_fields}


def user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    """Note whether this save changes the user's password or deactivates them (one query,
    only for saves that may): `user_post_save` then revokes their tokens."""
    instance._abmcrm_revoke_tokens = False
    watched = {"password", "is_active"} & _fields_of(sender)
    if raw or instance.pk is None or not watched:
        return
    if update_fields is not None:
        watched &= set(update_fields)
        # Django's check_password() saves a new hash of the same password when the hasher
        # or its work factor changed: that is no password change.
        if watched == {"password"} and getattr(instance, "_password", None) is None:
            return
    if not watched:
        return
    old = sender._default_manager.filter(pk=instance.pk).values(*watched).first()
    if old is None:
        return
    instance._abmcrm_revoke_tokens = (
        ("password" in old and old["password"] != instance.password)
        or ("is_active" in old and old["is_active"] and not instance.is_active)
    )


def user_post_save(sender, instance, raw=False, **kwargs):
    """Revoke the tokens of a user whose password changed or who was deactivated, in the
    transaction that saved the user (a rolled-back change revokes nothing)."""
    if getattr(instance, "_abmcrm_revoke_tokens", False):
        instance._abmcrm_revoke_tokens = False
        tokens_revoke_all(user=instance)
