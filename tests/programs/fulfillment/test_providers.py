"""The providers' HTTP client and its error classification (programs/fulfillment/providers/)."""


import pytest

from programs.models import Fulfillment, ProgramOrder
from tests.programs.fulfillment.helpers import provider_order

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
F = Fulfillment.State



class TestProviderHttp:
    """The error classification the send task relies on, over real HTTP (kept alive)."""

    def send(self, fake_provider):
        from programs.fulfillment.providers import get_provider

        order = provider_order(method="ad_audience")
        fulfillment = Fulfillment.objects.create(order=order, provider="ad_audience",
                                                 idempotency_key=f"k-{order.pk}")
        return get_provider("ad_audience").send(fulfillment)

    @pytest.mark.parametrize("status", [429, 500, 503])
    def test_throttling_and_server_errors_are_transient(self, fake_provider, status):
        from programs.fulfillment.providers import TransientError

        fake_provider.fail_next(1, status=status, message="Slow down")
        with pytest.raises(TransientError, match=f"answered {status}: Slow down") as caught:
            self.send(fake_provider)
        assert caught.value.status == status
        assert self.send(fake_provider).status == "delivered"  # the connection is reusable

    @pytest.mark.parametrize("status", [400, 404, 422])
    def test_client_errors_are_permanent(self, fake_provider, status):
        from programs.fulfillment.providers import PermanentError

        fake_provider.fail_next(1, status=status, message="Bad domain")
        with pytest.raises(PermanentError, match=f"answered {status}: Bad domain"):
            self.send(fake_provider)

    def test_refused_connection_and_timeout_are_transient(self, fake_provider, settings):
        from programs.fulfillment.providers import TransientError

        fake_provider.hang_next(1, seconds=2.5)  # the client gives up after 2 s
        with pytest.raises(TransientError, match="did not answer within 2 s"):
            self.send(fake_provider)
        settings.ABMCRM_PROVIDERS["ad_audience"]["base_url"] = "http://127.0.0.1:9"
        with pytest.raises(TransientError, match="Could not reach ad_audience"):
            self.send(fake_provider)
