from rest_framework import pagination

from ..paginator import ListPaginator


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (up to 500); answers `{count, next, previous, results}`. Pages
    through `ListPaginator`: a fixed number of queries, a COUNT only when the page does not
    tell it, and a long list's count cached for a few seconds."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = ListPaginator
