"""Fulfillment: the marketers' queue (`queue`), sending provider orders (`dispatch` queues,
`sending` is the send task's body, `webhooks` takes the providers' answers), the pluggable
`providers`, and the queue's selectors, filters, serializers, API views, page and admin."""
