"""Paging long lists (the API's pagination and the pages) in a fixed number of queries, cheap
at any size and depth.

Django's Paginator counts the rows before it reads a page, and reads the page with LIMIT …
OFFSET over the whole rows. At 100,000 accounts both cost more than everything else a list
request does. `ListPaginator`:

- reads one row more than the page, so a last (or only) page knows the count without a
  COUNT: short lists, filters and searches that find few rows are never counted;
- counts otherwise, and keeps a count of ABMCRM_LIST_COUNT_CACHE_ABOVE rows or more for
  ABMCRM_LIST_COUNT_CACHE_SECONDS in the cache (keyed by the query, so each filter and each
  user's visible rows have their own): the count of a long list is then at most that old,
  while counts below the threshold are always exact;
- reads a page deep in a list (from row DEFER_FROM on) as the ids of its rows first (an
  index-only scan over the ordering's index), then those rows by id (a "deferred join"):
  an OFFSET of 40,000 then skips index entries, not table rows. The ids travel as values,
  not as a subquery: given a subquery, PostgreSQL plans the rows' joins (an order's five
  related tables) over the whole table before it knows only a page of ids is wanted.
"""

import hashlib

from django.core.cache import cache
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from .conf import settings as conf

# From this offset on, a page is read ids first (before it, LIMIT … OFFSET reads few rows).
DEFER_FROM = 500


def list_count(queryset, *, at_least=0):
    """The number of rows of `queryset`, from the cache if it is a long list counted less
    than ABMCRM_LIST_COUNT_CACHE_SECONDS ago, unless the cached count is below `at_least`
    (rows were added since: it is counted again)."""
    if not isinstance(queryset, QuerySet) or conf.ABMCRM_LIST_COUNT_CACHE_SECONDS <= 0:
        return queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except Exception:  # noqa: BLE001 - e.g. EmptyResultSet: no SQL, counting costs nothing
        return queryset.count()
    key = "abmcrm:count:" + hashlib.sha256(
        f"{queryset.db}|{sql}|{params!r}".encode("utf-8", "surrogatepass")).hexdigest()
    count = cache.get(key)
    if count is None or count < at_least:
        count = queryset.count()
        if count >= conf.ABMCRM_LIST_COUNT_CACHE_ABOVE:
            cache.set(key, count, conf.ABMCRM_LIST_COUNT_CACHE_SECONDS)
    return count


def _deferrable(queryset):
    """Whether a page of `queryset` can be read as ids first: a plain ordered query (no
    grouping, DISTINCT or set operation, which change what a row is)."""
    query = queryset.query
    return (queryset.ordered and not query.distinct and query.group_by is None
            and not query.combinator and not query.is_sliced)


class ListPaginator(Paginator):
    """A Paginator that counts only when it must and reads deep pages through their ids
    (see the module). Takes a queryset (or a list); orphans are not supported."""

    def page(self, number):
        number = self._page_number(number)
        bottom = (number - 1) * self.per_page
        rows = self._rows(bottom, bottom + self.per_page + 1)
        if len(rows) <= self.per_page:
            if not rows and number > 1:
                raise EmptyPage(self.error_messages["no_results"])
            # The last page: the count is known without a COUNT.
            self.__dict__["count"] = bottom + len(rows)
        else:
            # At least one row follows: a cached count that says otherwise is stale.
            self._at_least = bottom + len(rows)
        return self._get_page(rows[:self.per_page], number, self)

    def get_page(self, number):
        """The page `number`, the first for one that is no number, the last for one past
        the end (as Django's `get_page`)."""
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(max(1, self.num_pages))

    def _page_number(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def _rows(self, start, stop):
        queryset = self.object_list
        if start >= DEFER_FROM and isinstance(queryset, QuerySet) and _deferrable(queryset):
            ids = list(queryset.values_list("pk", flat=True)[start:stop])
            return list(queryset.filter(pk__in=ids)) if ids else []
        return list(queryset[start:stop])

    _at_least = 0

    @cached_property
    def count(self):
        return list_count(self.object_list, at_least=self._at_least)
