from . import hooks, roles


def abm(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"abm_role": roles.role_of(user), "abm_nav": hooks.nav_links(user)}
