"""Fields the tiers app's serializers share: domains, technologies and references to users
and accounts (ids, usernames, external ids or domains, looked up in bulk by the ingesters)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors
from ..domains import normalise_domain


class DomainField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return normalise_domain(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class TechnologiesField(serializers.ListField):
    """A list of technology names; a string is split on ';' (as in CSV)."""

    child = serializers.CharField(max_length=100)

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [part for part in data.split(";")]
        names = super().to_internal_value(data)
        seen, result = set(), []
        for name in (n.strip() for n in names):
            if name and name.lower() not in seen:
                seen.add(name.lower())
                result.append(name)
        return result

    def to_representation(self, value):
        return [technology.name for technology in value.all()]


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}],
                      "description": "The owner's user id, or username."})
class AccountOwnerField(serializers.Field):
    """A user id; a username is accepted too (CSV exports name people, not ids)."""

    default_error_messages = {"unknown": gettext_lazy("No user with id or username “{value}”.")}

    def to_internal_value(self, data):
        users = self.context.get("users_by_ref")
        if users is None:
            users = selectors.users_by_ref([data])
        user = users.get(str(data).strip())
        if user is None:
            self.fail("unknown", value=data)
        return user

    def to_representation(self, value):
        return value.pk


class AccountRefField(serializers.Field):
    """An account by id, external_id or domain (looked up in bulk by the ingester)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError(_("Expected an account id, external_id or "
                                                "domain."))
        value = str(data).strip()
        if not value or len(value) > 255:
            raise serializers.ValidationError(_("Expected an account id, external_id or "
                                                "domain."))
        accounts = self.context.get("accounts_by_ref")
        if accounts is None:
            accounts = selectors.accounts_by_ref([value], only=("id", "domain", "external_id"))
        account = accounts.get(value.strip().lower())
        if account is None:
            raise serializers.ValidationError(
                _("No account with id, external_id or domain “%(value)s”.") % {"value": value}

            )
        return account

    def to_representation(self, value):
        return value.pk
