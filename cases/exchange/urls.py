from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("", views.home, name="home"),
    path("pushes/", views.push_list, name="push_list"),
    path("pushes/new/", views.push_new, name="push_new"),
    path("pushes/export.xlsx", views.push_export, name="push_export"),
    path("pushes/template.<str:fmt>", views.push_template, name="push_template"),
    path("pushes/<int:pk>/", views.push_detail, name="push_detail"),
    path("pushes/<int:pk>/status/", views.push_status, name="push_status"),
    path("pushes/<int:pk>/rejected.<str:fmt>", views.push_rejected, name="push_rejected"),
    path("confirmations/", views.confirmation_list, name="confirmation_list"),
    path("confirmations/new/", views.confirmation_new, name="confirmation_new"),
    path("confirmations/<int:pk>/", views.confirmation_detail, name="confirmation_detail"),
    path("deliveries/", views.deliveries, name="deliveries"),
]
