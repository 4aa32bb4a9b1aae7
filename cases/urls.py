from django.urls import path

from .views import assignment, cases, claims, payments, persons, queues

app_name = "cases"
urlpatterns = [
    # Work queues and the case list
    path("", queues.queue, name="queue"),
    path("bulk/", queues.queue_bulk, name="queue_bulk"),
    path("export.xlsx", queues.queue_export, name="queue_export"),
    # Persons and identities
    path("persons/", persons.person_list, name="persons"),
    path("persons/export.xlsx", persons.person_export, name="persons_export"),
    path("persons/new/", persons.person_new, name="person_new"),
    path("persons/check-id-number/", persons.id_number_check, name="id_number_check"),
    path("persons/<int:pk>/", persons.person_detail, name="person"),
    path("persons/<int:pk>/edit/", persons.person_edit, name="person_edit"),
    path("persons/<int:pk>/reveal/", persons.person_reveal, name="person_reveal"),
    path("persons/<int:pk>/identities/", persons.identity_add, name="identity_add"),
    path("identities/<int:pk>/close/", persons.identity_close, name="identity_close"),
    path("identities/to-confirm/", persons.identity_entries, name="identity_entries"),
    path("identity-entries/<int:pk>/decide/", persons.identity_entry_decide, name="identity_entry_decide"),
    # Claims
    path("persons/<int:pk>/claims/new/", claims.claim_new, name="claim_new"),
    path("claims/<int:pk>/edit/", claims.claim_edit, name="claim_edit"),
    path("claims/<int:pk>/void/", claims.claim_void, name="claim_void"),
    path("claims/import/", claims.claim_import, name="claim_import"),
    path("claims/import/template.csv", claims.claim_import_template, name="claim_import_template"),
    path("claims/import/<int:pk>/", claims.claim_import_report, name="claim_import_report"),
    path("claims/import/<int:pk>/status/", claims.claim_import_status, name="claim_import_status"),
    path("claims/import/<int:pk>/report.csv", claims.claim_import_report_download, {"fmt": "csv"},
         name="claim_import_report_csv"),
    path("claims/import/<int:pk>/report.xlsx", claims.claim_import_report_download, {"fmt": "xlsx"},
         name="claim_import_report_xlsx"),
    # Cases
    path("persons/<int:pk>/cases/new/", cases.application_new, name="application_new"),
    path("<int:pk>/", cases.case_detail, name="case"),
    path("<int:pk>/edit/", cases.application_edit, name="application_edit"),
    path("<int:pk>/act/", cases.case_act, name="case_act"),
    path("<int:pk>/assign/", assignment.case_assign, name="case_assign"),
    path("time-limits/", assignment.time_limits, name="time_limits"),
    path("<int:pk>/settlement/", cases.case_settlement, name="case_settlement"),
    path("<int:pk>/slip/", cases.slip, name="slip"),
    # Payments
    path("payments/", payments.to_pay, name="payments"),
    path("payments/batches/", payments.batch_list, name="batches"),
    path("payments/lines/", payments.payment_lines, name="payment_lines"),
    path("payments/lines/export.xlsx", payments.payment_lines_export, name="payment_lines_export"),
    path("payments/batches/<int:pk>/", payments.batch_detail, name="batch"),
    path("payments/batches/<int:pk>/export.<str:fmt>", payments.batch_export, name="batch_export"),
    path("payments/batches/<int:pk>/results/", payments.batch_results, name="batch_results"),
    path("payments/batches/<int:pk>/bank-returns/", payments.batch_return_upload, name="batch_return_upload"),
    path("payments/bank-returns/<int:pk>/", payments.bank_return_status, name="bank_return"),
    path("payments/bank-returns/<int:pk>/rejected/", payments.bank_return_rejected, name="bank_return_rejected"),
    path("payments/bank-returns/<int:pk>/rejected.csv", payments.bank_return_rejected_download, {"fmt": "csv"},
         name="bank_return_rejected_csv"),
    path("payments/bank-returns/<int:pk>/rejected.xlsx", payments.bank_return_rejected_download, {"fmt": "xlsx"},
         name="bank_return_rejected_xlsx"),
    path("payments/reviews/", payments.payment_reviews, name="payment_reviews"),
    path("payments/recoveries/", payments.recovery_list, name="recoveries"),
    path("<int:pk>/payee/", payments.case_payee, name="case_payee"),
]
