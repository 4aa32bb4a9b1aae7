from . import views

routes = [
    ("exchange/pushes", views.PushViewSet, "exchange-push"),
    ("exchange/confirmations", views.ConfirmationViewSet, "exchange-confirmation"),
    ("exchange/subsidy-lists", views.SubsidyListViewSet, "exchange-subsidy-list"),
]
urlpatterns: list = []
