"""sample_api's URLs plus /bench-open/hello/: its hello view with the token verification taken out.

The open variant authenticates every request as one fixed caller without reading any token, so the
difference from /hello/ with a real token is exactly the cost of verifying it (scenario 6).
"""

from django.urls import Resolver404, path, resolve
from rest_framework.authentication import BaseAuthentication

from sample_api.urls import urlpatterns as sample_urlpatterns

HELLO_PATHS = ("/hello/", "/api/hello/")


class FixedCaller:
    """What the sample API's authentication builds from a token's claims, here from constants."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self):
        self.claims = {"sub": "bench", "client_id": "bench-cc", "scope": ""}
        self.pk = self.id = self.username = "bench"
        self.client_id = "bench-cc"
        self.scopes = frozenset()


class NoVerification(BaseAuthentication):
    def authenticate(self, request):
        return FixedCaller(), None


def hello_path():
    for candidate in HELLO_PATHS:
        try:
            resolve(candidate, urlconf="sample_api.urls")
        except Resolver404:
            continue
        return candidate
    raise LookupError(f"sample_api has none of {HELLO_PATHS}")


def _open_hello():
    view = resolve(hello_path(), urlconf="sample_api.urls").func
    view_class = getattr(view, "cls", None) or view.view_class
    # DRF's as_view() takes class attributes as keyword arguments: the same view, another authentication.
    return view_class.as_view(authentication_classes=[NoVerification], permission_classes=[])


urlpatterns = [*sample_urlpatterns, path("bench-open/hello/", _open_hello())]
