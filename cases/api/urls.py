from . import views

routes = [
    ("persons", views.PersonViewSet, "person"),
    ("households", views.HouseholdViewSet, "household"),
    ("identities", views.IdentityViewSet, "identity"),
    ("identity-entries", views.IdentityEntryViewSet, "identity-entry"),
    ("claims", views.ClaimViewSet, "claim"),
    ("claim-imports", views.ClaimImportViewSet, "claim-import"),
    ("applications", views.ApplicationViewSet, "application"),
    ("payment-batches", views.PaymentBatchViewSet, "payment-batch"),
    ("adjustments", views.AdjustmentViewSet, "adjustment"),
    ("bank-returns", views.BankReturnViewSet, "bank-return"),
]
urlpatterns: list = []
