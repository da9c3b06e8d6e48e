"""The API's JSON renderer (`REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]`)."""

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, which writes non-ASCII text as UTF-8. A lone surrogate (from a
    request's `"\\ud800"`, quoted back in an error message) has no UTF-8 form, and DRF's
    encoding of it failed as a 500: such a response is written with every non-ASCII
    character escaped instead (`\\ud800`), which is the same JSON."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            ensure_ascii, self.ensure_ascii = self.ensure_ascii, True
            try:
                return super().render(data, accepted_media_type, renderer_context)
            finally:
                self.ensure_ascii = ensure_ascii
