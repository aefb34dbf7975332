from django.urls import path

from ads import views

urlpatterns = [path("c/<str:token>", views.click, name="ads-click")]
