from django.urls import path

from . import views, views_examples, views_simulation, views_whatif

app_name = "policies"
urlpatterns = [
    path("", views.version_list, name="versions"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/import/", views.version_import, name="version-import"),
    path("policy-imports/<int:pk>/", views.policy_import, name="import"),
    path("policy-imports/<int:pk>/problems.csv", views.policy_import_problems, {"fmt": "csv"}, name="import-problems-csv"),
    path("policy-imports/<int:pk>/problems.xlsx", views.policy_import_problems, {"fmt": "xlsx"},
         name="import-problems-xlsx"),
    path("versions/new/", views.version_new, name="version-new"),
    path("versions/<int:pk>/leaf/", views.version_leaf, name="version-leaf"),
    path("versions/<int:pk>/structure/", views.version_structure, name="version-structure"),
    path("versions/<int:pk>/file/", views.version_file, name="version-file"),
    path("versions/<int:pk>/start/", views.version_start, name="version-start"),
    path("versions/<int:pk>/parameters/", views.version_parameters, name="version-parameters"),
    path("versions/<int:pk>/details/", views.version_details, name="version-details"),
    path("versions/<int:pk>/publish/", views.version_publish, name="version-publish"),
    path("versions/<int:pk>/withdraw/", views.version_withdraw, name="version-withdraw"),
    path("versions/<int:pk>/text/", views.version_text, name="version-text"),
    path("versions/<int:pk>/examples/new/", views_examples.example_form, name="example-new"),
    path("versions/<int:pk>/examples/<int:example_pk>/", views_examples.example_form, name="example"),
    path("versions/<int:pk>/examples/<int:example_pk>/remove/", views_examples.example_remove, name="example-remove"),
    path("versions/<int:pk>/simulation/", views_simulation.simulation_page, name="version-simulation"),
    path("simulations/<int:sim_pk>/status/", views_simulation.simulation_status, name="simulation-status"),
    path("simulations/<int:sim_pk>/report.xlsx", views_simulation.simulation_excel, name="simulation-excel"),
    path("statistics/", views.statistics, name="statistics"),
    path("whatif/", views_whatif.whatif, name="whatif"),
]
