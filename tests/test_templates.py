"""Ids printed by templates are never localised: with USE_THOUSAND_SEPARATOR a primary key
of 14751 renders as "14,751" (or "14.751" in Indonesian), which breaks `data-*` hooks,
element ids and the values of filter options once a table passes a thousand rows."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("abmcrm", "tiers", "programs", "funnel", "pipeline", "inmarket", "webhooks", "plays")
# {{ x.pk }}, {{ x.id }}, {{ x.account_id }} … without a filter.
BARE_ID = re.compile(r"\{\{\s*[\w.]*\.(?:pk|id|\w+_id)\s*\}\}")


def _templates():
    for app in APPS:
        yield from (ROOT / app).glob("**/templates/**/*.html")


def test_templates_exist():
    assert sum(1 for _ in _templates()) > 20


def test_no_template_prints_an_id_localised():
    offenders = [f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
                 for path in _templates()
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 for match in BARE_ID.finditer(line)]
    assert offenders == [], "use |unlocalize (and {% load l10n %}):\n" + "\n".join(offenders)


def test_the_check_catches_a_bare_id():
    assert BARE_ID.search('<tr data-deal="{{ deal.pk }}">')
    assert BARE_ID.search("{{ row.account_id }}")
    assert not BARE_ID.search('<tr data-deal="{{ deal.pk|unlocalize }}">')
    assert not BARE_ID.search("{{ deal.amount }}")
