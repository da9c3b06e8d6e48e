from django import template
from django.utils.formats import number_format

from ..models import Channel

register = template.Library()


@register.filter
def pct(value):
    """0.4567 → "46%"; None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{number_format(float(value) * 100, decimal_pos=0)}%"


@register.filter
def dash(value):
    return "—" if value is None or value == "" else value


@register.filter
def channel_label(code):
    """A channel's code ("paid_media") as people read it ("Paid media")."""
    if not code:
        return "—"
    try:
        return Channel(code).label
    except ValueError:
        return code


@register.filter
def get_item(mapping, key):
    """`mapping[key]` in a template, None when absent."""
    return (mapping or {}).get(key)
