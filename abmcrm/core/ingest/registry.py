"""The kinds of rows abmcrm ingests: each app registers its ingesters (in its AppConfig's
`ready()`), so the bulk endpoints, the import endpoint, the admin page and
`manage.py import_csv` serve every kind the same way."""

_registry = {}


def register(ingester):
    _registry[ingester.kind] = ingester
    return ingester


def get_ingester(kind):
    return _registry.get(kind)


def kinds():
    return sorted(_registry)
