"""Text from outside (JSON bodies, CSV cells, headers) that the database can store.

PostgreSQL refuses a NUL character in `text` and in `jsonb` strings, and no database driver
can encode a lone UTF-16 surrogate (`"\\ud800"` in JSON) as UTF-8: either reaches the
database as a 500. Values are checked here, before any query, so that they become a clear
400 (or a bad row) instead. JSON documents are also limited in depth: nothing abmcrm takes
nests more than a few levels, and a document nested a thousand deep exhausts Python's
recursion (in the parser, and later in anything that walks it).
"""

import json
import re

from django.utils.translation import gettext as _

# Deeper than any document abmcrm takes (a bulk list of objects holding lists is 3), far
# below where Python's recursion limit (1,000 frames) is reached by the code walking it.
MAX_JSON_DEPTH = 64
_SURROGATES = re.compile("[\ud800-\udfff]")


class JSONDocumentError(ValueError):
    """A JSON document abmcrm refuses: malformed, nested too deep, or with a string the
    database cannot store. The message says which, for the person who sent it."""


def is_storable(text):
    """Whether `text` (a str) holds no NUL character and no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_reason(text):
    """Why `text` cannot be stored, or "" if it can."""
    if "\x00" in text:
        return _("It contains a NUL character (\\u0000), which cannot be stored.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _("It contains an unpaired surrogate (e.g. \\ud800), which is not valid text.")
    return ""


def storable(text):
    """`text` with what cannot be stored replaced: NUL removed, lone surrogates as U+FFFD. For
    messages built from outside input (a file's header, an error from a library)."""
    text = text.replace("\x00", "")
    # A str holds code points: any surrogate in one is unpaired (a pair decodes to one).
    return _SURROGATES.sub("\ufffd", text) if not is_storable(text) else text


def json_problem(value, *, strings=True, max_depth=MAX_JSON_DEPTH):
    """What is wrong with a parsed JSON value, or "": nesting deeper than `max_depth`, or
    (with `strings`) a string or key that cannot be stored. Walks the value without
    recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            reason = unstorable_reason(item) if strings else ""
            if reason:
                return _("A text value is refused: %(reason)s") % {"reason": reason}
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return _("The JSON is nested more than %(depth)s levels deep.") % {
                    "depth": max_depth}
            children = item.values() if isinstance(item, dict) else item
            if strings and isinstance(item, dict):
                stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in children
                         if strings or isinstance(child, dict | list))
    return ""


def parse_json(raw, *, parse_constant=None):
    """Parse a JSON document (str or bytes). JSONDocumentError, never anything else, for what
    is not a document abmcrm takes: malformed, or nested deeper than MAX_JSON_DEPTH (the
    parser itself runs out of recursion well before Python's limit would end the request)."""
    try:
        value = json.loads(raw, parse_constant=parse_constant)
    except RecursionError as exc:
        raise JSONDocumentError(
            _("The JSON is nested too deeply; at most %(depth)s levels are accepted.")
            % {"depth": MAX_JSON_DEPTH}
        ) from exc
    except (ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
        raise JSONDocumentError(_("The body is not valid JSON: %(error)s") % {"error": exc}) \
            from exc

    problem = json_problem(value, strings=False)
    if problem:
        raise JSONDocumentError(problem)
    return value


def lookup_keys(refs):
    """The references to look up (ids, e-mails, domains, names… from a request or a file),
    as stripped strings: blanks dropped, and those no stored row can match dropped too (a
    NUL or a lone surrogate would reach the database as an error, failing the whole batch
    instead of the one row that carries it, which is then reported as not found)."""
    keys = set()
    for ref in refs:
        if ref is None or ref == "":
            continue
        key = str(ref).strip()
        if key and is_storable(key):
            keys.add(key)
    return keys
