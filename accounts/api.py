"""The signed-in person's account summary."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.services import account_for_user
from config.api import RETRY_AFTER, error_responses
from jobs.models import Job

from .types import signed_in_user


class MeApi(APIView):
    @extend_schema_serializer(component_name="Account")
    class OutputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        credits = serializers.IntegerField()
        active_jobs = serializers.IntegerField()
        max_active_jobs = serializers.IntegerField()

    @extend_schema(
        operation_id="me_retrieve",
        summary="Your account: credits and job slots",
        responses={200: OutputSerializer, **error_responses()},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        data = {
            "email": user.email,
            "credits": account_for_user(user).balance,
            "active_jobs": Job.objects.for_user(user).active().count(),
            "max_active_jobs": settings.MAX_ACTIVE_JOBS_PER_USER,
        }
        return Response(self.OutputSerializer(data).data)
