"""Reporting pages, mounted under /exchange/ where they always were (bookmarks keep working)."""
from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("dashboards/", views.dashboard, name="dashboard"),
    path("dashboards/<str:key>.xlsx", views.dashboard_export, name="dashboard_export"),
    path("dashboards/<str:key>.svg", views.dashboard_chart, name="dashboard_chart"),
    path("budgets/", views.budget_list, name="budgets"),
]
