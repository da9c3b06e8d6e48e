"""Template tags of the abmcrm pages."""

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag
def abm_url(name, *args):
    """`{% url %}` that answers "" when the name is not routed: a host project may leave out
    a part (the admin, the API docs) without breaking every page."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
