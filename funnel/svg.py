"""The dual funnel drawn as server-side SVG: the ABM funnel on the left, the demand-gen
funnel on the right, merging into one column of shared stages from SQL on."""

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.translation import gettext as _

WIDTH = 920
ROW = 54
GAP = 8
HALF = WIDTH // 2
COLORS = {"abm": "#3553d1", "demand_gen": "#12805c"}


LABEL_WIDTH = 180  # the stage names' column, left of each side's bars
LABEL_CHARS = 22  # a name longer than this wraps onto a second line


def _n(count):
    """A count grouped as the reader's locale groups it."""
    return number_format(count, force_grouping=True)


def _conversion(row):
    """What the arrow under a bar says: how many of those who reached the stage went on
    (the count, not only a share, so that in period mode "58 → 58" beside "60%" reads
    right: 35 of the 58 moved on; the other 23 who reached the next stage in the period
    had reached this one before it)."""
    converted, reached = row.get("converted_to_next"), row["reached"]
    if converted is None or not reached:
        return "↓ —"
    share = f"{row['conversion_to_next'] * 100:.0f}%" if row.get("conversion_to_next") \
        is not None else "—"
    return _("↓ %(converted)s of %(reached)s moved on (%(share)s)") % {
        "converted": _n(converted), "reached": _n(reached), "share": share}


def _lines(text):
    """A stage name in at most two lines that fit the label column."""
    if len(text) <= LABEL_CHARS:
        return [text]
    cut = text.rfind(" ", 0, LABEL_CHARS + 1)
    cut = cut if cut > 0 else LABEL_CHARS
    rest = text[cut:].strip()
    return [text[:cut].strip(), rest if len(rest) <= LABEL_CHARS else rest[:LABEL_CHARS - 1]
            + "…"]


def _label(x, y, text, **attributes):
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in
                    attributes.items())
    lines = _lines(text)
    spans = "".join(f'<tspan x="{x}" dy="{0 if i == 0 else 14}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return (f'<text x="{x}" y="{y - (7 if len(lines) > 1 else 0)}"{extra} class="stage">'
            f'<title>{escape(text)}</title>{spans}</text>')


def _bar(x_center, y, width_max, row, top, color, last):
    count = row["reached"]
    width = max(6, width_max * (count / top)) if top else 6
    x = x_center - width / 2
    # A narrow bar cannot hold its number: write it beside the bar, in ink.
    inside = width >= 12 + 8 * len(_n(count))
    text_x, anchor, fill = ((x_center, "middle", "#fff") if inside
                            else (x + width + 6, "start", "#1d2433"))
    lines = [
        f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 22}" rx="4" '
        f'fill="{color}" opacity="0.85"><title>{escape(row["name"])}: {_n(count)}</title></rect>',
        f'<text x="{text_x:.1f}" y="{y + 21}" text-anchor="{anchor}" fill="{fill}" '
        f'font-size="13" font-weight="600" class="count">{_n(count)}</text>',
    ]
    if not last:
        lines.append(f'<text x="{x_center}" y="{y + ROW - 6}" text-anchor="middle" '
                     f'font-size="11" fill="#667085" class="conversion">'
                     f'{escape(_conversion(row))}</text>')
    return lines


def dual_funnel(sides, paths):
    """`sides`: the report's {"abm": [stage rows], "demand_gen": [...]}; `paths`: {side:
    [Stage]}. Returns an SVG string (escaped)."""
    own = {side: [r for r, s in zip(sides.get(side, []), paths.get(side, []), strict=False)
                  if s.side != "shared"] for side in ("abm", "demand_gen")}
    shared_rows = {side: [r for r, s in zip(sides.get(side, []), paths.get(side, []),
                                            strict=False) if s.side == "shared"]
                   for side in ("abm", "demand_gen")}
    depth = max(len(own["abm"]), len(own["demand_gen"]))
    n_shared = max(len(shared_rows["abm"]), len(shared_rows["demand_gen"]))
    height = 40 + (depth + n_shared) * (ROW + GAP) + 20
    top = {side: (sides[side][0]["reached"] if sides.get(side) else 0) or 0
           for side in ("abm", "demand_gen")}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'width="100%" role="img" '
           f'aria-label="{escape(_("Dual funnel: ABM and demand generation"))}" '
           f'font-family="system-ui, sans-serif">',
           f'<text x="{HALF // 2}" y="22" text-anchor="middle" font-size="15" '
           f'font-weight="700" fill="{COLORS["abm"]}">{escape(_("ABM (accounts)"))}</text>',
           f'<text x="{HALF + HALF // 2}" y="22" text-anchor="middle" font-size="15" '
           f'font-weight="700" fill="{COLORS["demand_gen"]}">{escape(_("Demand gen (leads)"))}'
           f'</text>']
    for side, x0 in (("abm", 0), ("demand_gen", HALF)):
        rows = own[side]
        offset = depth - len(rows)  # bottom-align so both sides meet the shared band
        for i, row in enumerate(rows):
            y = 40 + (offset + i) * (ROW + GAP)
            out.append(_label(x0 + 8, y + 20, row["name"], font_size=12, fill="#1d2433"))
            bars = HALF - LABEL_WIDTH - 16
            out += _bar(x0 + LABEL_WIDTH + bars // 2, y, bars - 40, row, top[side],
                        COLORS[side], False)
    y_merge = 40 + depth * (ROW + GAP)
    if n_shared:
        out.append(f'<rect x="4" y="{y_merge - 4}" width="{WIDTH - 8}" '
                   f'height="{n_shared * (ROW + GAP)}" rx="8" fill="#f2f4f7"/>')
    for i in range(n_shared):
        y = y_merge + i * (ROW + GAP)
        name = (shared_rows["abm"] or shared_rows["demand_gen"])[i]["name"]
        out.append(f'<text x="{HALF}" y="{y + 14}" text-anchor="middle" font-size="12" '
                   f'font-weight="700" fill="#1d2433" class="stage">{escape(name)}</text>')
        for side, x0 in (("abm", 0), ("demand_gen", HALF)):
            rows = shared_rows[side]
            if i < len(rows):
                last = i + 1 == len(rows)
                out += _bar(x0 + HALF // 2 + (30 if side == "abm" else -30), y + 4,
                            HALF - 190, rows[i], top[side], COLORS[side], last)
    note = _("Each funnel is drawn to its own scale (its first stage is full width): "
             "compare the sides by their conversion rates.")
    out.append(f'<text x="{WIDTH - 8}" y="{height - 6}" text-anchor="end" font-size="11" '
               f'fill="#667085">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out)
