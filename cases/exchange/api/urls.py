from . import views

routes = [
    ("exchange/pushes", views.PushViewSet, "exchange-push"),
    ("exchange/confirmations", views.ConfirmationViewSet, "exchange-confirmation"),
    ("exchange/warnings", views.WarningViewSet, "exchange-warning"),
    ("exchange/subsidy-lists", views.SubsidyListViewSet, "exchange-subsidy-list"),
    ("exchange/monitoring-runs", views.MonitoringRunViewSet, "exchange-monitoring-run"),
]
urlpatterns: list = []
