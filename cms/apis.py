"""Project REST endpoints of the CMS app under /api/v1/."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.auth import content_read_scope
from cms.selectors import topic_list_with_counts


class TopicListApi(APIView):
    """Topics with how many live articles each has, for front-end filters."""

    def get_required_scope(self) -> str | None:
        return content_read_scope()

    @extend_schema_serializer(component_name="TopicWithCount")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        article_count = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True), summary="List topics")
    def get(self, request):
        topics = topic_list_with_counts()
        return Response(self.OutputSerializer(topics, many=True).data)


class ApiKeyCurrentApi(APIView):
    """Which key this is and what it may do: handy when wiring up a client."""

    required_scope = None

    @extend_schema_serializer(component_name="ApiKeyDescription")
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        prefix = serializers.CharField()
        scopes = serializers.ListField(child=serializers.CharField())
        created = serializers.DateTimeField()
        expiry_date = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer, summary="Describe the calling API key")
    def get(self, request):
        if request.auth is None:
            raise NotAuthenticated("Send 'Authorization: Api-Key <key>'.")
        return Response(self.OutputSerializer(request.auth).data)
