from django.urls import path

from . import simulation, views

routes = [
    ("policy-versions", views.PolicyVersionViewSet, "policy-version"),
    ("policy-statistics", views.StatisticViewSet, "policy-statistic"),
    ("policy-imports", views.PolicyImportViewSet, "policy-import"),
]

urlpatterns = [
    path("policy-files/", views.PolicyFileImportView.as_view(), name="policy-file-import"),
    path("settlements/preview/", views.SettlementPreviewView.as_view(), name="settlement-preview"),
    path("policy-versions/<int:pk>/simulations/", simulation.VersionSimulationsView.as_view(),
         name="policy-version-simulations"),
    path("policy-simulations/<int:pk>/", simulation.SimulationView.as_view(), name="policy-simulation"),
]
