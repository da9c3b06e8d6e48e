from django import template

register = template.Library()


@register.filter
def pct(value):
    """0.4567 → "46%"; None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.0f}%"
