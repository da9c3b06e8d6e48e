"""The three roles, as Django groups, and the permissions each is granted.

The groups are created by a data migration (`abmcore` 0001); their permissions are (re)synced
after every `migrate`, because each app's permissions only exist once its models are migrated.
An AppConfig declares what its roles may do in a `role_permissions` attribute, and with
`abm_managed = True` hands ABM admins every permission of its models (and marketers every view
permission), so a host project can add apps of its own the same way.
"""

from django.apps import apps as django_apps
from django.utils.translation import pgettext_lazy

SALES_REP = "Sales rep"
MARKETER = "Marketer"
ABM_ADMIN = "ABM admin"
ROLES = (SALES_REP, MARKETER, ABM_ADMIN)
# The group names above are data (kept in English); people read these.
LABELS = {SALES_REP: pgettext_lazy("role", "Sales rep"),
          MARKETER: pgettext_lazy("role", "Marketer"),
          ABM_ADMIN: pgettext_lazy("role", "ABM admin")}


ADMIN_EXTRA = ("auth.add_user", "auth.change_user", "auth.view_user", "auth.view_group")


def _role_names(user):
    names = getattr(user, "_abmcrm_roles", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._abmcrm_roles = names
    return names


def has_role(user, *roles):
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(_role_names(user) & set(roles))


def is_abm_admin(user):
    return has_role(user, ABM_ADMIN)


def is_marketer(user):
    """Marketers and admins: may read everything, approve and fulfil."""
    return has_role(user, MARKETER, ABM_ADMIN)


def is_sales_rep(user):
    return has_role(user, SALES_REP)


def role_of(user):
    """The user's highest role, for display."""
    if is_abm_admin(user):
        return ABM_ADMIN
    if has_role(user, MARKETER):
        return MARKETER
    if has_role(user, SALES_REP):
        return SALES_REP
    return None


def managed_apps():
    """The labels of the apps whose AppConfig sets `abm_managed = True`."""
    return [config.label for config in django_apps.get_app_configs()
            if getattr(config, "abm_managed", False)]


def _wanted_permissions():
    from django.contrib.auth.models import Permission

    managed = Permission.objects.filter(content_type__app_label__in=managed_apps())
    wanted = {
        ABM_ADMIN: set(managed),
        MARKETER: {p for p in managed if p.codename.startswith("view_")},
        SALES_REP: set(),
    }
    extra = {role: set() for role in ROLES}
    extra[ABM_ADMIN].update(ADMIN_EXTRA)
    for config in django_apps.get_app_configs():
        for role, perms in getattr(config, "role_permissions", {}).items():
            extra[role].update(perms)
    for role, names in extra.items():
        for name in names:
            app_label, codename = name.split(".", 1)
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:  # not migrated yet: the next post_migrate adds it
                wanted[role].add(perm)
    return wanted


def sync_role_permissions(sender=None, **kwargs):
    from django.contrib.auth.models import Group

    using = kwargs.get("using", "default")
    if not Group.objects.using(using).filter(name__in=ROLES).exists():
        return
    for role, perms in _wanted_permissions().items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.add(*perms)
