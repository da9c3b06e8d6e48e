"""Every route that takes an id, in every installed app, answers an id past the database's
range with a 404 (or 405 for a method it does not take), never a 500: SQLite raises
OverflowError and PostgreSQL "out of range" for such a value. New routes are covered without
being listed: the routes are read from the URL configuration."""

import re

import pytest
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

TOO_BIG = "9" * 25


def routes(resolver=None, prefix=""):
    """(path, name) of every route with an id parameter: `<int:…>` in the pages' routes,
    `(?P<pk>…)` in the API routers' (the admin's own routes are Django's)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        text = str(entry.pattern)
        if text.startswith("admin/"):
            continue
        if isinstance(entry, URLResolver):
            yield from routes(entry, prefix + text)
            continue
        path = prefix + text
        if isinstance(entry.pattern, RoutePattern):
            path = re.sub(r"<int:\w+>", TOO_BIG, path)
        elif "format>" in path:
            continue  # the routers' `.json` twins of the routes below
        else:
            path = re.sub(r"\(\?P<pk>[^)]+\)", TOO_BIG, path).replace("^", "").replace("$", "")
        if TOO_BIG in path and not re.search(r"[<(\\]", path):
            yield "/" + path, entry.name


ROUTES = sorted(set(routes()))


def test_the_routes_are_found():
    names = {name for _, name in ROUTES}
    assert {"account-detail", "pipeline-move", "campaign-roi", "opportunity-move",
            "order-fulfillment-claim", "import-page"} <= names
    assert "/api/v1/accounts/" + TOO_BIG + "/" in {path for path, _ in ROUTES}


@pytest.mark.django_db
@pytest.mark.parametrize("path, name", ROUTES,
                         ids=[path.replace(TOO_BIG, "N") for path, _ in ROUTES])
def test_an_id_past_the_column_range_is_not_found(client, abm_admin, path, name):
    client.raise_request_exception = False
    client.force_login(abm_admin)
    for method in (client.get, client.post, client.patch, client.delete):
        response = method(path)
        assert response.status_code in (404, 405), (path, response.status_code)
