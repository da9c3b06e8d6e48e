"""The account's funnel follows its deals: a deal opening moves its account to the funnel's
opportunity stage (unless the account is already there or past it), a deal won moves it to
won, with the deal's amount. Through the funnel's own set-based moves
(`funnel.services.accounts_move`), so the funnel report, its history and its guarantees stay
the funnel's: a move dated before the account's last transition happens at that
transition's time (history stays in order), a closed account is never reopened, an account
another request moved meanwhile is left alone."""

from collections import defaultdict

from funnel import selectors as funnel_selectors
from funnel import services as funnel_services
from funnel.models import Stage


def _earliest(events):
    """{account id: (at, amount, campaign, channel)} of each account's earliest event."""
    first = {}
    for account_id, at, amount, campaign, channel in events:
        if account_id not in first or at < first[account_id][0]:
            first[account_id] = (at, amount, campaign, channel)
    return first


def _move(events, *, to_stage, only_from, by):
    # accounts_move records one campaign and channel a call: group the accounts by theirs.
    groups = defaultdict(list)
    for account_id, (at, amount, campaign, channel) in events.items():
        groups[(campaign.pk if campaign else None, channel)].append(
            (account_id, at, amount, campaign))
    moved = []
    for (_campaign_id, channel), rows in groups.items():
        moved += funnel_services.accounts_move(
            moves=[(account_id, at) for account_id, at, _, _ in rows], to_stage=to_stage.slug,
            only_from=only_from, channel=channel, campaign=rows[0][3], user=by,
            amounts={account_id: amount for account_id, _, amount, _ in rows})
    return moved


def accounts_follow_deals(*, opened=(), won=(), by=None):
    """`opened` and `won`: [(account id, at, amount, campaign, channel)] of deals opened and
    won. Returns ({account ids moved to the opportunity stage}, {… to won})."""
    path = funnel_selectors.side_path(Stage.Side.ABM)
    opportunity = next((s for s in path if s.is_opportunity), None)
    won_stage = next((s for s in path if s.is_won), None)
    moved_opened, moved_won = set(), set()
    if opportunity is not None and opened:
        before = {None, *(s.slug for s in path if s.position < opportunity.position)}
        moved_opened = set(_move(_earliest(opened), to_stage=opportunity, only_from=before,
                                 by=by))
    if won_stage is not None and won:
        moved_won = set(_move(_earliest(won), to_stage=won_stage, only_from=None, by=by))
    return moved_opened, moved_won
