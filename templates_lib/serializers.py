from __future__ import annotations

from rest_framework import serializers

from templates_lib.registry import Template


class TemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    entrypoint = serializers.CharField(allow_null=True, help_text="The file to run first.")
    default_backend = serializers.CharField(
        allow_null=True, help_text="The backend a workspace made from it runs on (null: the platform's default)."
    )
    files = serializers.SerializerMethodField()

    def get_files(self, template: Template) -> list[str]:
        return template.files()
