"""DRF permission classes shared by every abmcrm app: explicit on every view."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import permissions

from . import roles

_CHECKS = {
    "roles": lambda user: roles.has_role(user, *roles.ROLES),
    "marketers": roles.is_marketer,
    "admins": roles.is_abm_admin,
}


class HasAbmRole(permissions.BasePermission):
    """Any of the three roles (or a superuser)."""

    message = gettext_lazy("You need the Sales rep, Marketer or ABM admin role.")

    def has_permission(self, request, view):
        return roles.has_role(request.user, *roles.ROLES)


class IsMarketer(permissions.BasePermission):
    """Marketers and admins."""

    message = gettext_lazy("Only marketers and ABM admins may do this.")

    def has_permission(self, request, view):
        return roles.is_marketer(request.user)


class IsAbmAdmin(permissions.BasePermission):
    message = gettext_lazy("Only ABM admins may do this.")

    def has_permission(self, request, view):
        return roles.is_abm_admin(request.user)


class ReadForRoles(permissions.BasePermission):
    """Every role reads; `write` ("marketers" or "admins") may change, and `delete` (the same
    choices; default: `write`) may delete. Subclasses name the combination they grant."""

    write = "admins"
    delete = None

    @property
    def message(self):
        if self.write == "marketers":
            return _("Only marketers and ABM admins may change this.")
        return _("Only ABM admins may change this.")


    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return _CHECKS["roles"](request.user)
        if request.method == "DELETE":
            return _CHECKS[self.delete or self.write](request.user)
        return _CHECKS[self.write](request.user)


class ReadForRolesWriteForAdmins(ReadForRoles):
    """Every role reads; only ABM admins write (menus, rules, budgets…)."""

    write = "admins"


class ReadForRolesWriteForMarketers(ReadForRoles):
    """Every role reads; marketers and ABM admins write and delete (segments, recomputes…)."""

    write = "marketers"


class ReadForRolesWriteForMarketersDeleteForAdmins(ReadForRoles):
    """Every role reads; marketers and ABM admins write; only ABM admins delete (leads and
    funnel history: a lead may have been worked by sales)."""

    write = "marketers"
    delete = "admins"


class AccountPermission(permissions.BasePermission):
    """Every role reads accounts; reps edit the accounts they own; admins manage all and
    alone may create or delete (Django model permissions decide, so a host project can
    grant them differently)."""

    perms = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}

    def _perm(self, request, view, action):
        model = view.get_queryset().model
        return f"{model._meta.app_label}.{action}_{model._meta.model_name}"

    def has_permission(self, request, view):
        user = request.user
        if not roles.has_role(user, *roles.ROLES):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        action = self.perms.get(request.method)
        if action is None:
            # A method no handler takes (TRACE, FOO): let the view answer 405, as it does
            # for every other resource. DRF checks permissions before it looks for a handler.
            return not hasattr(view, request.method.lower())
        return user.has_perm(self._perm(request, view, action))

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS or roles.is_abm_admin(request.user):
            return True
        account = getattr(obj, "account", obj)
        return account.owner_id == request.user.pk
