"""The forecast's SQL: the open deals, one pass, summed by expected close month (or the
buckets around the months shown) and group. Reads the open deals through the partial index
on their expected close date. Table and column names come from the models' `_meta`."""

from abmcrm.core.db.names import column, month_of, table
from abmcrm.core.db.sqltext import Sql

from ..models import Opportunity, OpportunityStage
from .common import round_money
from .report import group_expressions


def forecast_sql(*, first, end, commit_probability, group_by, deal_filter=None):
    """(sql, params): rows (bucket, group, open deals, amount, weighted amount, commit) where
    bucket is "YYYY-MM" for the months in [first, end), else "overdue", "later" or
    "undated"."""
    s = table(OpportunityStage)
    close = f"o.{column(Opportunity, 'close_date')}"
    amount = f"COALESCE(o.{column(Opportunity, 'amount')}, 0)"
    probability = f"s.{column(OpportunityStage, 'probability')}"
    key, _closing, joins = group_expressions(group_by)
    sql = Sql(f"SELECT CASE WHEN {close} IS NULL THEN 'undated' "
              f"WHEN {close} < %s THEN 'overdue' WHEN {close} >= %s THEN 'later' "
              f"ELSE {month_of(close)} END AS bucket, {key} AS grp, COUNT(*), SUM({amount}), "
              f"SUM({round_money(f'{amount} * {probability} / 100.0')}), "
              f"SUM(CASE WHEN {probability} >= %s THEN {amount} ELSE 0 END) "
              f"FROM {table(Opportunity)} o JOIN {s} s ON s.{column(OpportunityStage, 'id')} = "
              f"o.{column(Opportunity, 'stage')} {' '.join(joins)} "
              f"WHERE o.{column(Opportunity, 'status')} = 'open'",
              first, end, int(commit_probability))
    if deal_filter is not None:
        sql.add(f" AND o.{column(Opportunity, 'id')} IN ({deal_filter[0]})", *deal_filter[1])
    return sql.add(" GROUP BY 1, 2")


def forecast_rows(**kwargs):
    return forecast_sql(**kwargs).run()
