from . import views

routes = [
    ("exchange/pushes", views.PushViewSet, "exchange-push"),
    ("exchange/confirmations", views.ConfirmationViewSet, "exchange-confirmation"),
]
urlpatterns: list = []
