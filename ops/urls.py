from django.urls import path

from ops import views

app_name = "ops"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("status.json", views.status_json, name="status"),
]
