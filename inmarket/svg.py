"""The backtest drawn as server-side SVG: one bar per buying stage (or decile), its height the
share of the accounts that opened a deal since. No JavaScript; the numbers are also in the
tables under the charts."""

from django.utils.html import escape
from django.utils.translation import gettext as _

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 44
BAR = "#3553d1"


def _percent(value):
    return f"{value * 100:.1f}%"


def share_chart(rows, *, key, label_key, title, css_class):
    """rows: [{key, label_key, "share", "accounts", "opened"}]. Returns an SVG string (escaped)."""
    top = max([row["share"] for row in rows] + [0.01])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(rows), 1)
    bar = max(6.0, min(48.0, slot - 10))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="100%" role="img" class="{escape(css_class)}" aria-label="{escape(title)}" '
           'font-family="system-ui, sans-serif">']
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                   f'stroke="#e4e7ec"/><text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="11" fill="#667085">{escape(_percent(value))}</text>')
    for i, row in enumerate(rows):
        h = plot_h * row["share"] / top
        x = LEFT + i * slot + (slot - bar) / 2
        center = LEFT + i * slot + slot / 2
        label = str(row[label_key])
        out.append(
            f'<g class="bar" data-key="{escape(str(row[key]))}" '
            f'data-share="{row["share"]:.4f}"><rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{bar:.1f}" height="{h:.1f}" fill="{BAR}"><title>{escape(label)}: '
            f'{escape(_percent(row["share"]))} '
            + escape(_("(%(opened)s of %(accounts)s accounts)") % row)
            + f'</title></rect><text x="{center:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle" font-size="11" fill="#1d2433">{escape(label)}</text>'
            f'<text x="{center:.1f}" y="{HEIGHT - BOTTOM + 30}" text-anchor="middle" '
            f'font-size="10" fill="#667085">{escape(_percent(row["share"]))}</text></g>')
    out.append("</svg>")
    return "\n".join(out)
