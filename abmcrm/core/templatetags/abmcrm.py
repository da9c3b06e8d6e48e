"""Template tags of the abmcrm pages: links that tolerate an unrouted name, and amounts and
numbers written the way the reader's locale writes them (Django's formats)."""

from django import template
from django.urls import NoReverseMatch, reverse

from .. import formats

register = template.Library()
register.filter("number", formats.number)
register.filter("money", formats.money)


@register.simple_tag
def abm_url(name, *args):
    """`{% url %}` that answers "" when the name is not routed: a host project may leave out
    a part (the admin, the API docs) without breaking every page."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
