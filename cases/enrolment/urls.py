"""Enrolment-subsidy pages, mounted under /exchange/ where they always were (bookmarks keep working)."""
from django.urls import path

from . import views

app_name = "enrolment"
urlpatterns = [
    path("subsidy/", views.subsidy_lists, name="subsidy_lists"),
    path("subsidy/standards/", views.standards, name="standards"),
    path("subsidy/<int:pk>/", views.subsidy_list, name="subsidy_list"),
    path("subsidy/<int:pk>/export.<str:fmt>", views.subsidy_export, name="subsidy_export"),
]
