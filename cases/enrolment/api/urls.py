from . import views

# The exchange's prefix and basename, kept (clients and bookmarks use them).
routes = [
    ("exchange/subsidy-lists", views.SubsidyListViewSet, "exchange-subsidy-list"),
]
urlpatterns: list = []
