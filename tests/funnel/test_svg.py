"""The dual funnel chart: labels that fit, and arrows that say how many moved on."""

from types import SimpleNamespace

from funnel import svg


def _row(name, reached, converted, share):
    return {"stage": name.lower(), "name": name, "reached": reached,
            "converted_to_next": converted, "conversion_to_next": share}


def test_period_mode_counts_read_right_beside_their_arrow():
    # Period mode: 58 reached each stage in the period, 35 of the targets went on.
    sides = {"abm": [_row("Target account", 58, 35, 0.6034), _row("Engaged account", 58, 0, 0),
                     _row("Closed won", 3, None, None)], "demand_gen": []}
    paths = {"abm": [SimpleNamespace(side="abm"), SimpleNamespace(side="abm"),
                     SimpleNamespace(side="shared")], "demand_gen": []}
    drawn = svg.dual_funnel(sides, paths)
    assert "↓ 35 of 58 moved on (60%)" in drawn
    assert "to next" not in drawn


def test_a_long_stage_name_wraps_in_its_column_clear_of_the_bars():
    drawn = svg._label(8, 60, "Qualified (in-market) account")
    assert '<tspan x="8" dy="0">Qualified (in-market)</tspan>' in drawn
    assert '<tspan x="8" dy="14">account</tspan>' in drawn
    # The bars start right of the label column.
    assert svg.LABEL_WIDTH >= 8 + 6.5 * svg.LABEL_CHARS
