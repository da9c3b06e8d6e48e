from rest_framework import permissions

from abmcrm.core import roles


class ReadForRolesWriteForMarketers(permissions.BasePermission):
    """Every role reads; marketers and ABM admins write; deleting is for admins."""

    message = "Only marketers and ABM admins may change this."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return roles.has_role(request.user, *roles.ROLES)
        if request.method == "DELETE":
            return roles.is_abm_admin(request.user)
        return roles.is_marketer(request.user)
