from django.urls import path

from . import views

app_name = "closure"

urlpatterns = [path("", views.account_delete, name="account_delete")]
