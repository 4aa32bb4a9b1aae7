from django.urls import path

from . import views

routes = [
    ("policy-versions", views.PolicyVersionViewSet, "policy-version"),
    ("policy-statistics", views.StatisticViewSet, "policy-statistic"),
]

urlpatterns = [
    path("policy-files/", views.PolicyFileImportView.as_view(), name="policy-file-import"),
    path("settlements/preview/", views.SettlementPreviewView.as_view(), name="settlement-preview"),
]
