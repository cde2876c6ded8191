from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("credits/", views.pack_list, name="credits"),
    path("buy/<int:pk>/", views.purchase_create, name="buy"),
    path("return/<int:pk>/", views.purchase_return, name="return"),
    path("square/webhook/", views.square_webhook, name="square_webhook"),
]
