"""Translation for a reader who is not the one making the request.

- **The language of a user**, for what the worker writes to them (e-mails): the pages follow
  the reader's browser, but an e-mail has no browser. Where a user says which language they
  read is up to the apps above (plays keeps it with the notification preferences): each
  AppConfig may declare `user_languages`, the dotted path of a function `(users) -> {user
  pk: language code}`; the first app (in INSTALLED_APPS order) to name a supported language
  wins, else the site's (LANGUAGE_CODE). So programs and webhooks mail in the reader's
  language without importing the app that stores it.
- **Messages stored to be read later** (an import's warnings and bad rows): written by one
  person's request or by the worker, read by others in their own languages. They are stored
  as their English msgid and values (`deferred`) and translated when shown (`translated`).
"""

from django.apps import apps
from django.conf import settings
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext

# The language of a user --------------------------------------------------------------------


def supported_language(code):
    """`code` as one of LANGUAGES ("ko-KR" → "ko"), or None if no supported language fits."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def users_languages(users):
    """{user pk: language code} for each of `users`: the language they chose where an app
    keeps it, else the site's. One query per app that declares `user_languages` (at most)."""
    users = [user for user in users if user is not None]
    found = {}
    for config in apps.get_app_configs():
        path = getattr(config, "user_languages", None)
        pending = [user for user in users if user.pk not in found]
        if not path or not pending:
            continue
        for pk, code in import_string(path)(pending).items():
            code = supported_language(code)
            if code and pk not in found:
                found[pk] = code
    default = settings.LANGUAGE_CODE
    return {user.pk: found.get(user.pk, default) for user in users}


def user_language(user):
    """The language `user` reads (for an e-mail to them)."""
    return users_languages([user])[user.pk]


def users_by_language(users):
    """[(language, [users])]: `users` grouped by the language each reads, a group per
    language in the order the languages first appear (one e-mail per group)."""
    languages = users_languages(users)
    groups = {}
    for user in users:
        groups.setdefault(languages[user.pk], []).append(user)
    return list(groups.items())


# Messages stored untranslated --------------------------------------------------------------

def deferred(msgid, **params):
    """A message to store now and translate when read: `msgid` is the English text, marked
    for the catalogues with `gettext_noop` where it is written; `params` its %(name)s values,
    plain JSON values or other deferred messages."""
    return {"msgid": msgid, "params": params}


def deferred_format(msgid, **params):
    """A deferred message whose msgid takes its values as `str.format` does ({name}): the
    style of Django REST framework's field messages."""
    return {"msgid": msgid, "params": params, "style": "format"}


def is_deferred(value):
    return isinstance(value, dict) and isinstance(value.get("msgid"), str)


def translated(value):
    """A stored message in the active language: a deferred message translated, then given
    its values; a plain string (stored before messages were deferred, or from outside, e.g.
    a library's validation error, stored in English) translated if the catalogues know it
    as it is, else as it is."""
    if is_deferred(value):
        # The values are data (a cell, a column name), translated only if deferred themselves:
        # a cell reading "Name" stays "Name".
        params = {name: translated(item) if is_deferred(item) else item
                  for name, item in (value.get("params") or {}).items()}
        text = gettext(value["msgid"])
        fill = str.format_map if value.get("style") == "format" else str.__mod__
        try:
            return fill(text, params)
        except (KeyError, IndexError, TypeError, ValueError):
            # A translation that names a value the message lacks: the English one still fits.
            return fill(value["msgid"], params)
    if isinstance(value, str):
        return gettext(value) if value else value
    return value


def translated_tree(value):
    """A stored JSON value holding messages (an import's bad rows: [{"line", "errors":
    {field: [messages]}}]) with every message in the active language; keys, numbers and
    the shape as they are."""
    if is_deferred(value) or isinstance(value, str):
        return translated(value)
    if isinstance(value, dict):
        return {key: translated_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [translated_tree(item) for item in value]
    return value


def translated_message(parts, fallback=""):
    """A message stored as its parts (deferred messages, each a sentence) in the active
    language, the parts joined by a space; `fallback` (the text stored with them) when there
    are none."""
    if not parts:
        return translated(fallback)
    return " ".join(translated(part) for part in parts)


def message_parts(message):
    """A message given to be stored (a string, a deferred message, or a list of them) as
    (English text, [deferred parts]): the text for the column people and host code read as
    it is, the parts to translate for each reader (none for a plain string, which is kept
    as it is: it came from outside, e.g. an exception's text)."""
    if message is None or message == "":
        return "", []
    if isinstance(message, str):
        return message, []
    parts = message if isinstance(message, list) else [message]
    return " ".join(english(part) for part in parts), [
        part if is_deferred(part) else str(part) for part in parts]


def english(value):
    """A stored message as English text (its msgid with its values), e.g. for a text column
    that host code and the admin read as it is."""
    with translation.override("en"):
        return translated(value)
