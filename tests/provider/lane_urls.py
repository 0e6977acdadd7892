"""A URLconf whose machine endpoints are plain stand-in views: the lane must take whatever view
answers those names (the endpoints are being rewritten), and give it the lean steps."""

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import include, path


def token(request):
    # As a rewritten password grant might: authenticate() with the Django request itself.
    user = authenticate(request, username=request.POST.get("username"), password=request.POST.get("password"))
    if user is None:
        return JsonResponse({"error": "invalid_grant"}, status=400)
    return JsonResponse({"access_token": "stand-in"})


def introspect(request):
    raise PermissionDenied


def userinfo(request):
    return TemplateResponse(request, engines["django"].from_string("rendered {{ word }}"), {"word": "late"})


oidc = (
    [
        path("token", token, name="token"),
        path("introspect", introspect, name="introspect"),
        path("userinfo", userinfo, name="user-info"),
    ],
    "oauth2_provider",
)

urlpatterns = [path("", include(oidc)), path("", include("provider.urls"))]
