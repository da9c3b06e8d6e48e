from . import hooks, roles
from .conf import settings


def abm(request):
    """What every abmcrm page needs: the configured base template, and for a signed-in user
    their role and navigation."""
    context = {"abm_base_template": settings.ABMCRM_BASE_TEMPLATE}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        role = roles.role_of(user)
        context.update(abm_role=roles.LABELS.get(role, role), abm_nav=hooks.nav_links(user))
    return context
