from django.urls import path

from templates_lib.views import TemplateViewSet

urlpatterns = [
    path("templates/", TemplateViewSet.as_view({"get": "list"}), name="template-list"),
    path("templates/<slug:slug>/", TemplateViewSet.as_view({"get": "retrieve"}), name="template-detail"),
]
