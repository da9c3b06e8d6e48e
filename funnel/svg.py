"""The dual funnel drawn as server-side SVG: the ABM funnel on the left, the demand-gen
funnel on the right, merging into one column of shared stages from SQL on."""

from django.utils.html import escape

WIDTH = 920
ROW = 54
GAP = 8
HALF = WIDTH // 2
COLORS = {"abm": "#3553d1", "demand_gen": "#12805c"}


def _pct(value):
    return "—" if value is None else f"{value * 100:.0f}%"


def _bar(x_center, y, width_max, count, top, color, label, conversion, last):
    width = max(6, width_max * (count / top)) if top else 6
    x = x_center - width / 2
    # A narrow bar cannot hold its number: write it beside the bar, in ink.
    inside = width >= 12 + 8 * len(f"{count:,}")
    text_x, anchor, fill = ((x_center, "middle", "#fff") if inside
                            else (x + width + 6, "start", "#1d2433"))
    lines = [
        f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 22}" rx="4" '
        f'fill="{color}" opacity="0.85"><title>{escape(label)}: {count}</title></rect>',
        f'<text x="{text_x:.1f}" y="{y + 21}" text-anchor="{anchor}" fill="{fill}" '
        f'font-size="13" font-weight="600" class="count">{count:,}</text>',
    ]
    if not last:
        lines.append(f'<text x="{x_center}" y="{y + ROW - 6}" text-anchor="middle" '
                     f'font-size="11" fill="#667085">↓ {_pct(conversion)} to next</text>')
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
           f'width="100%" role="img" aria-label="Dual funnel: ABM and demand generation" '
           f'font-family="system-ui, sans-serif">',
           f'<text x="{HALF // 2}" y="22" text-anchor="middle" font-size="15" '
           f'font-weight="700" fill="{COLORS["abm"]}">ABM (accounts)</text>',
           f'<text x="{HALF + HALF // 2}" y="22" text-anchor="middle" font-size="15" '
           f'font-weight="700" fill="{COLORS["demand_gen"]}">Demand gen (leads)</text>']
    for side, x0 in (("abm", 0), ("demand_gen", HALF)):
        rows = own[side]
        offset = depth - len(rows)  # bottom-align so both sides meet the shared band
        for i, row in enumerate(rows):
            y = 40 + (offset + i) * (ROW + GAP)
            out.append(f'<text x="{x0 + 8}" y="{y + 14}" font-size="12" fill="#1d2433" '
                       f'class="stage">{escape(row["name"])}</text>')
            out += _bar(x0 + HALF // 2 + 40, y, HALF - 190, row["reached"], top[side],
                        COLORS[side], row["name"], row["conversion_to_next"], False)
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
                            HALF - 190, rows[i]["reached"], top[side], COLORS[side],
                            rows[i]["name"], rows[i]["conversion_to_next"], last)
    out.append(f'<text x="{WIDTH - 8}" y="{height - 6}" text-anchor="end" font-size="11" '
               f'fill="#667085">Each funnel is drawn to its own scale (its first stage is full '
               f'width): compare the sides by their conversion rates.</text>')
    out.append("</svg>")
    return "\n".join(out)
