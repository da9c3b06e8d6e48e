"""View mixins shared by the apps' viewsets."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import ingest
from .serializers import BulkResultSerializer


class BulkIngestMixin:
    """Adds `POST …/bulk/`: a JSON list of up to 10,000 items, upserted; answers
    `{created, updated, unchanged, errors: [{index, errors}]}`. Set `bulk_kind`."""

    bulk_kind = ""

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"},
                                      "maxItems": ingest.MAX_BULK_ITEMS}},
        responses={200: BulkResultSerializer},
        description="Upsert up to 10,000 items; valid items land even when others are invalid.",
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request, *args, **kwargs):
        ingester = ingest.get_ingester(self.bulk_kind)
        if not request.user.has_perm(ingester.permission):
            self.permission_denied(request, message=_("You may not import %(kind)s.")
                                   % {"kind": ingester.label})

        result = ingest.bulk_ingest(kind=self.bulk_kind, items=request.data, user=request.user)
        return Response(result.as_dict())
