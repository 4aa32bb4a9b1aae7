"""/api/v1/: one router for the whole portal. Each app adds its routes in ``<app>/api/urls.py``
(a ``routes`` list of ``(prefix, viewset, basename)`` and/or a ``urlpatterns`` list)."""
from importlib import import_module

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("regions", views.RegionViewSet, basename="region")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("auth/token/", views.ObtainTokenView.as_view(), name="api-token"),
    path("auth/logout/", views.RevokeTokenView.as_view(), name="api-logout"),
]

for app in ("policies", "cases", "cases.exchange", "cases.monitoring", "cases.enrolment"):
    try:
        module = import_module(f"{app}.api.urls")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"{app}.api", f"{app}.api.urls"):
            raise
        continue
    for prefix, viewset, basename in getattr(module, "routes", []):
        router.register(prefix, viewset, basename=basename)
    urlpatterns.append(path("", include(getattr(module, "urlpatterns", []))))

urlpatterns.append(path("", include(router.urls)))
