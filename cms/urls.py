from django.urls import path

from . import views

app_name = "cms"

urlpatterns = [
    path("audio/<int:pk>/", views.demo_audio, name="demo_audio"),
]
