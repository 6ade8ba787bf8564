from django.urls import path

from pipelines.views import PipelineDetail, PipelineLaunch, PipelineList

urlpatterns = [
    path("pipelines/", PipelineList.as_view(), name="pipeline-list"),
    path("pipelines/<slug:slug>/", PipelineDetail.as_view(), name="pipeline-detail"),
    path("pipelines/<slug:slug>/launch/", PipelineLaunch.as_view(), name="pipeline-launch"),
]
