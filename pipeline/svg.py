"""The forecast drawn as server-side SVG: per expected close month, the open amount, the
weighted amount and the commit side by side, to one scale. No JavaScript; the numbers are
also in the table under it."""

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.translation import gettext as _

WIDTH = 720
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 34, 40
COLORS = {"amount": "#c7d2fe", "weighted_amount": "#3553d1", "commit": "#12805c"}


def _money(value):
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def _month_label(month):
    year, number = month.split("-")
    names = [_("Jan"), _("Feb"), _("Mar"), _("Apr"), _("May"), _("Jun"), _("Jul"), _("Aug"),
             _("Sep"), _("Oct"), _("Nov"), _("Dec")]
    return f"{names[int(number) - 1]} {year}"


def forecast_chart(months):
    """`months`: the forecast's [{month, open_deals, amount, weighted_amount, commit}].
    Returns an SVG string (escaped)."""
    series = [("amount", _("Open amount")), ("weighted_amount", _("Weighted")),
              ("commit", _("Commit"))]
    top = max([float(m["amount"]) for m in months] + [1.0])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)
    bar = max(4.0, min(26.0, (slot - 12) / 3))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="100%" role="img" class="forecast-chart" '
           f'aria-label="{escape(_("Forecast by expected close month"))}" '
           'font-family="system-ui, sans-serif">']
    x = LEFT
    for key, label in series:
        out.append(f'<rect x="{x}" y="8" width="12" height="12" rx="2" fill="{COLORS[key]}"/>'
                   f'<text x="{x + 16}" y="18" font-size="12" fill="#1d2433">'
                   f'{escape(label)}</text>')
        x += 30 + 8 * len(str(label))
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                   f'stroke="#e4e7ec"/><text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="11" fill="#667085">{escape(_money(value))}</text>')
    for i, month in enumerate(months):
        x0 = LEFT + i * slot + (slot - 3 * bar - 4) / 2
        out.append(f'<g class="month" data-month="{escape(month["month"])}" '
                   f'data-weighted="{escape(str(month["weighted_amount"]))}">')
        for j, (key, label) in enumerate(series):
            value = float(month[key])
            h = plot_h * value / top
            out.append(f'<rect x="{x0 + j * (bar + 2):.1f}" y="{TOP + plot_h - h:.1f}" '
                       f'width="{bar:.1f}" height="{h:.1f}" fill="{COLORS[key]}">'
                       f'<title>{escape(_month_label(month["month"]))} · {escape(label)}: '
                       f'{escape(_money(month[key]))}</title></rect>')
        out.append(f'<text x="{LEFT + i * slot + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                   f'text-anchor="middle" font-size="11" fill="#1d2433">'
                   f'{escape(_month_label(month["month"]))}</text>')
        out.append(f'<text x="{LEFT + i * slot + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 30}" '
                   f'text-anchor="middle" font-size="10" fill="#667085">'
                   f'{escape(_money(month["weighted_amount"]))}</text></g>')
    out.append("</svg>")
    return "\n".join(out)
