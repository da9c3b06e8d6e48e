"""The webhooks app has no pages of its own (the API and the admin): nothing to route."""

urlpatterns = []
