"""The sample API's endpoints: one per kind of check a resource server makes."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_safe
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from .permissions import HasGroup, HasScope

_ERROR = OpenApiResponse(description="RFC 6750 error; see the WWW-Authenticate header")


class HelloView(APIView):
    """The tutorial's HelloView: any valid access token for this API."""

    @extend_schema(
        summary="Greet the caller",
        responses={
            200: inline_serializer(
                "Hello",
                {
                    "message": serializers.CharField(),
                    "sub": serializers.CharField(),
                    "client_id": serializers.CharField(),
                },
            ),
            401: _ERROR,
        },
    )
    def get(self, request):
        return Response(
            {"message": "Hello, World!", "sub": request.user.username, "client_id": request.user.client_id}
        )


class IsUser(BasePermission):
    """Only tokens that speak for a user: a client's own token (client credentials) has none.

    Without this, a client-credentials token would be shown as if it were a user: its `sub` is
    the client id, which a user's identifier could equal (RFC 9700 4.15).
    """

    message = "This endpoint describes a signed-in user; a client's own token has none."

    def has_permission(self, request, view):
        return not getattr(request.user, "is_client", False)


class MeView(APIView):
    """The verified claims of a user's access token; needs the read scope (default `profile`)."""

    permission_classes = [HasScope, IsUser]

    def get_required_scopes(self):
        return [settings.RESOURCE_READ_SCOPE]

    @extend_schema(
        summary="The caller's access-token claims",
        description="Needs the scope named by RESOURCE_READ_SCOPE (default `profile`) and a user's "
        "token: a client's own (client credentials) token is refused with 403.",
        responses={200: OpenApiResponse(description="the token's claims"), 401: _ERROR, 403: _ERROR},
    )
    def get(self, request):
        return Response(request.auth)


class AdminOnlyView(APIView):
    """A user of one group only (default `admins`): the provider's `groups` claim decides, offline.

    The client that obtained the token must have the groups scope granted and be set to put groups
    in its access tokens (clients update ID --groups-in-access-token).
    """

    permission_classes = [IsUser, HasGroup]

    def get_required_group(self):
        return settings.RESOURCE_REQUIRED_GROUP

    @extend_schema(
        summary="For members of one group",
        description="Needs a user's token whose `groups` claim names RESOURCE_REQUIRED_GROUP "
        "(default `admins`); anything else is refused with 403.",
        responses={
            200: inline_serializer(
                "AdminOnly",
                {
                    "message": serializers.CharField(),
                    "sub": serializers.CharField(),
                    "group": serializers.CharField(),
                },
            ),
            401: _ERROR,
            403: _ERROR,
        },
    )
    def get(self, request):
        group = settings.RESOURCE_REQUIRED_GROUP
        return Response(
            {"message": f"Hello, member of {group}!", "sub": request.user.username, "group": group}
        )


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    author = serializers.CharField(read_only=True)
    client_id = serializers.CharField(read_only=True)


class NoteCreateView(APIView):
    """A write endpoint with its own scope (default `notes:write`): shows a read token cannot write.

    The sample has no storage: the note is validated and echoed back with its author.
    """

    permission_classes = [HasScope]

    def get_required_scopes(self):
        return [settings.RESOURCE_WRITE_SCOPE]

    @extend_schema(
        summary="Post a note",
        description="Needs the scope named by RESOURCE_WRITE_SCOPE (default `notes:write`).",
        request=NoteSerializer,
        responses={
            201: NoteSerializer,
            400: OpenApiResponse(description="invalid note"),
            401: _ERROR,
            403: _ERROR,
        },
    )
    def post(self, request):
        note = NoteSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        body = {**note.validated_data, "author": request.user.username, "client_id": request.user.client_id}
        return Response(NoteSerializer(body).data, status=status.HTTP_201_CREATED)


@require_safe
def healthz(request):
    """Alive: answers without touching the provider."""
    return HttpResponse("ok", content_type="text/plain")
