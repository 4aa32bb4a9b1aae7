"""Monitoring pages, mounted under /exchange/ where they always were (bookmarks keep working)."""
from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("warnings/", views.warning_list, name="warning_list"),
    path("warnings/list.xlsx", views.warning_list_export, name="warning_list_export"),
    path("warnings/export.<str:fmt>", views.warning_export, name="warning_export"),
    path("warnings/<int:pk>/", views.warning_detail, name="warning_detail"),
    path("monitoring/", views.monitoring_runs, name="runs"),
]
