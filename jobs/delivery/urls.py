from django.urls import path

from . import views

app_name = "jobs"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("upload/", views.job_upload, name="upload"),
    path("status/", views.job_list_status, name="status"),
    path("delete/", views.jobs_delete, name="delete_many"),
    path("<uuid:pk>/", views.job_detail, name="detail"),
    path("<uuid:pk>/delete/", views.job_delete, name="delete"),
    path("<uuid:pk>/download/", views.zip_download, name="zip"),
    path("<uuid:pk>/stems/<slug:name>/", views.stem_download, name="stem"),
]
