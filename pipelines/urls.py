from django.urls import path

from pipelines.views import PipelineLaunch, PipelineViewSet

urlpatterns = [
    path("pipelines/", PipelineViewSet.as_view({"get": "list"}), name="pipeline-list"),
    path("pipelines/<slug:slug>/", PipelineViewSet.as_view({"get": "retrieve"}), name="pipeline-detail"),
    path("pipelines/<slug:slug>/launch/", PipelineLaunch.as_view(), name="pipeline-launch"),
]
