"""sample_api's URLs plus /bench-open/hello/: its hello view without authentication or permissions."""

from django.urls import Resolver404, path, resolve

from sample_api.urls import urlpatterns as sample_urlpatterns

HELLO_PATHS = ("/hello/", "/api/hello/")


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
    # DRF's as_view() accepts class attributes as keyword arguments: same view, no authentication.
    return view_class.as_view(authentication_classes=[], permission_classes=[])


urlpatterns = [*sample_urlpatterns, path("bench-open/hello/", _open_hello())]
