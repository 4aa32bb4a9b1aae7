from . import views

# The exchange's prefixes and basenames, kept (clients and bookmarks use them).
routes = [
    ("exchange/warnings", views.WarningViewSet, "exchange-warning"),
    ("exchange/monitoring-runs", views.MonitoringRunViewSet, "exchange-monitoring-run"),
]
urlpatterns: list = []
