from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("id-number-views/", views.id_views, name="id_views"),
    path("bank-accounts/", views.bank_changes, name="bank_changes"),
    path("policy-simulations/", views.simulations, name="simulations"),
    path("list-exports/", views.list_exports, name="list_exports"),
    path("export.xlsx", views.export, name="export"),
]
