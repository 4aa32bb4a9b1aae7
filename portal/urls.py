from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import views
from portal.api import urls as api_urls

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("portal.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("health/", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls)),
    # signed-in users only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); Swagger UI from static files,
    # its start-up script a file of its own (no inline script: Content-Security-Policy)
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
    path("policies/", include("policies.urls")),
    path("cases/", include("cases.urls")),
    path("exchange/", include("cases.exchange.urls")),
    path("exchange/", include("cases.monitoring.urls")),  # the monitoring pages kept their /exchange/ paths
    path("exchange/", include("cases.enrolment.urls")),  # so did the enrolment-subsidy pages
    path("exchange/", include("cases.reporting.urls")),  # and the dashboards and budgets
    path("audit/", include("portal.audit.urls")),
]
