"""The API's JSON parser (`REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]`, and the token view's)."""

import codecs

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings
from rest_framework.utils import json

from ..text import JSONDocumentError, parse_json


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering 400 for every body it cannot take: DRF's own catches
    only ValueError, so a body nested a thousand deep (`[[[[…`) escaped as a RecursionError
    and a 500, on every JSON endpoint and anonymously on the token endpoint. Bodies nested
    deeper than `abmcrm.core.text.MAX_JSON_DEPTH` are refused too."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = _encoding(parser_context or {})
        parse_constant = json.strict_constant if api_settings.STRICT_JSON else None
        try:
            raw = codecs.getreader(encoding)(stream).read()
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %s") % exc) from exc
        try:
            return parse_json(raw, parse_constant=parse_constant)
        except JSONDocumentError as exc:
            raise ParseError(_("JSON parse error - %s") % exc) from exc



def _encoding(context):
    # DRF 3.16 checks the charset a request names; older versions take it as given.
    check = getattr(parsers, "get_encoding", None)
    return check(context) if check else context.get("encoding", settings.DEFAULT_CHARSET)


# What the API parses, in order: JSON first (what DRF's default would give), then forms.
PARSER_CLASSES = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
