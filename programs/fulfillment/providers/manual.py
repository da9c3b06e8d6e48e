from .base import Provider


class ManualProvider(Provider):
    """Nothing is sent: the order waits in the fulfillment queue for a marketer."""

    automatic = False

    def send(self, fulfillment):
        raise NotImplementedError("Manual orders are fulfilled by a marketer in the queue.")

    def lookup(self, fulfillment):
        return None
