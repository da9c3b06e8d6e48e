from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False
# The jobs first: "train" is no version number (versions match digits only anyway).
router.register("models/in-market/train", views.TrainingJobViewSet,
                basename="inmarket-training")
router.register("models/in-market", views.InMarketModelViewSet, basename="inmarket-model")

urlpatterns = router.urls
