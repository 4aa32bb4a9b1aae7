from django.urls import path

from . import views

routes = [
    ("policy-versions", views.PolicyVersionViewSet, "policy-version"),
    ("policy-statistics", views.StatisticViewSet, "policy-statistic"),
]

urlpatterns = [
    path("settlements/preview/", views.SettlementPreviewView.as_view(), name="settlement-preview"),
]
