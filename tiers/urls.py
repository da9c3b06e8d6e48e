from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("tiers", views.TierViewSet, basename="tier")
router.register("imports", views.ImportViewSet, basename="import")

urlpatterns = router.urls
