from django.urls import path

from templates_lib.views import TemplateDetail, TemplateList

urlpatterns = [
    path("templates/", TemplateList.as_view(), name="template-list"),
    path("templates/<slug:slug>/", TemplateDetail.as_view(), name="template-detail"),
]
