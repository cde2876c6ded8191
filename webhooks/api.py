"""REST API for webhook endpoints (`/api/v1/webhooks/`): thin views over services."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import signed_in_user
from core.api import RETRY_AFTER, error_responses

from . import selectors, sending, services
from .models import Delivery, Endpoint, EventType

EVENT_CHOICES = [choice.value for choice in EventType]


@extend_schema_serializer(component_name="WebhookEndpoint")
class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    description = serializers.CharField(allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(
        allow_blank=True,
        help_text="Why it was disabled (by you, or after failing for 24 hours).",
    )
    failing_since = serializers.DateTimeField(
        allow_null=True,
        help_text="When its current run of failed deliveries began; null while "
        "it answers.",
    )
    created_at = serializers.DateTimeField()
    secret_rotated_until = serializers.DateTimeField(
        allow_null=True,
        source="previous_secret_until",
        help_text="After a rotation: until when the old secret signs too.",
    )


@extend_schema_serializer(component_name="WebhookEndpointCreated")
class EndpointCreatedSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(
        help_text="`whsec_…`: verify signatures with it. Shown only now."
    )


@extend_schema_serializer(component_name="WebhookSecret")
class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="`whsec_…`, the new signing secret.")
    previous_secret_valid_until = serializers.DateTimeField(
        allow_null=True,
        help_text="The old secret signs too (a second signature) until then.",
    )


@extend_schema_serializer(component_name="WebhookDeliveryAttempt")
class AttemptOutputSerializer(serializers.Serializer):
    delivery_id = serializers.UUIDField(help_text="Resend it with this id.")
    event_id = serializers.CharField(
        source="delivery.message_id", help_text="The `webhook-id` header sent."
    )
    event_type = serializers.CharField(source="delivery.message.event_type")
    attempt = serializers.IntegerField(min_value=1, source="number")
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    delivered = serializers.BooleanField(source="succeeded")


@extend_schema_serializer(component_name="WebhookDelivery")
class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.CharField(source="message_id")
    event_type = serializers.CharField(source="message.event_type")
    url = serializers.URLField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempts = serializers.IntegerField()


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(
        child=serializers.CharField(max_length=40),
        default=EVENT_CHOICES,
        help_text=f"Any of {', '.join(EVENT_CHOICES)}; absent: all of them.",
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True
    )
    enabled = serializers.BooleanField(
        required=False, help_text="true turns a disabled endpoint back on."
    )


class WebhookListCreateApi(APIView):
    @extend_schema(
        operation_id="webhooks_list",
        summary="Your webhook endpoints",
        responses={200: EndpointOutputSerializer(many=True), **error_responses()},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request) -> Response:
        endpoints = selectors.endpoints_for_user(user=signed_in_user(request))
        return Response(EndpointOutputSerializer(endpoints, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Register an endpoint",
        description="Events are POSTed as JSON `{type, timestamp, data}` (`data` is "
        "the job as GET /api/v1/jobs/<id>/ returns it), signed by the Standard "
        "Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`). "
        "The secret is in this answer only.",
        request=EndpointInputSerializer,
        responses={201: EndpointCreatedSerializer, **error_responses(400)},
        parameters=[RETRY_AFTER],
    )
    def post(self, request: Request) -> Response:
        serializer = EndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(
            user=signed_in_user(request), **serializer.validated_data
        )
        body = EndpointOutputSerializer(endpoint).data
        return Response({**body, "secret": endpoint.secret}, status=201)


class OwnEndpointApiView(APIView):
    def _endpoint(self, request: Request, pk: Any) -> Endpoint:
        return selectors.endpoint_get_for_user(user=signed_in_user(request), pk=pk)


class WebhookDetailApi(OwnEndpointApiView):
    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="One endpoint",
        responses={200: EndpointOutputSerializer, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(EndpointOutputSerializer(self._endpoint(request, pk)).data)

    @extend_schema(
        operation_id="webhooks_update",
        summary="Change an endpoint, or turn it on or off",
        request=EndpointUpdateSerializer,
        responses={200: EndpointOutputSerializer, **error_responses(400, 404)},
        parameters=[RETRY_AFTER],
    )
    def patch(self, request: Request, pk: str) -> Response:
        endpoint = self._endpoint(request, pk)
        serializer = EndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            endpoint=endpoint, **serializer.validated_data
        )
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete an endpoint",
        responses={204: None, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def delete(self, request: Request, pk: str) -> Response:
        services.endpoint_delete(endpoint=self._endpoint(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretRotateApi(OwnEndpointApiView):
    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="A new signing secret",
        description="For 24 hours each event carries two signatures, one with "
        "each secret, so that receivers can switch without missing any.",
        request=None,
        responses={200: SecretSerializer, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def post(self, request: Request, pk: str) -> Response:
        endpoint = self._endpoint(request, pk)
        secret = services.endpoint_secret_rotate(endpoint=endpoint)
        return Response(
            SecretSerializer(
                {
                    "secret": secret,
                    "previous_secret_valid_until": endpoint.previous_secret_until,
                }
            ).data
        )


class WebhookTestApi(OwnEndpointApiView):
    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a test event",
        description="A `webhook.test` event, signed like the others, to this "
        "endpoint; see the delivery log for its answer.",
        request=None,
        responses={202: DeliveryOutputSerializer, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def post(self, request: Request, pk: str) -> Response:
        delivery = services.test_event_send(endpoint=self._endpoint(request, pk))
        return Response(DeliveryOutputSerializer(delivery).data, status=202)


class WebhookDeliveriesApi(OwnEndpointApiView):
    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="The delivery log: the last 100 attempts, newest first",
        responses={200: AttemptOutputSerializer(many=True), **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str) -> Response:
        attempts = selectors.attempts_for_endpoint(
            endpoint=self._endpoint(request, pk)
        )[: sending.LOG_LENGTH]
        return Response(AttemptOutputSerializer(attempts, many=True).data)


class WebhookResendApi(OwnEndpointApiView):
    @extend_schema(
        operation_id="webhooks_resend",
        summary="Send one event again",
        description="The same event (same `webhook-id` and body) as a new delivery.",
        request=None,
        responses={202: DeliveryOutputSerializer, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def post(self, request: Request, pk: str, delivery_id: str) -> Response:
        delivery = selectors.delivery_get_for_endpoint(
            endpoint=self._endpoint(request, pk), pk=delivery_id
        )
        again = services.delivery_resend(delivery=delivery)
        return Response(DeliveryOutputSerializer(again).data, status=202)


@extend_schema_serializer(component_name="CallbackSecret")
class CallbackSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        help_text="`whsec_…`: signs the events sent to your jobs' `webhook_url`."
    )
    previous_secret_valid_until = serializers.DateTimeField(
        allow_null=True, source="previous_secret_until"
    )
    created_at = serializers.DateTimeField()


class CallbackSecretApi(APIView):
    @extend_schema(
        operation_id="webhooks_callback_secret",
        summary="The secret that signs your jobs' webhook_url events",
        description="Made on first use. Events sent to a job's own `webhook_url` "
        "(given at upload) are signed with it; registered endpoints have their own.",
        responses={200: CallbackSecretSerializer, **error_responses()},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request) -> Response:
        secret = services.callback_secret_for_user(user=signed_in_user(request))
        return Response(CallbackSecretSerializer(secret).data)


class CallbackSecretRotateApi(APIView):
    @extend_schema(
        operation_id="webhooks_callback_secret_rotate",
        summary="A new callback secret (the old one signs too for 24 hours)",
        request=None,
        responses={200: CallbackSecretSerializer, **error_responses()},
        parameters=[RETRY_AFTER],
    )
    def post(self, request: Request) -> Response:
        secret = services.callback_secret_rotate(user=signed_in_user(request))
        return Response(CallbackSecretSerializer(secret).data)
