"""The operator's branding: site name and logo for every template, the primary colour as a stylesheet.

The colour reaches pages as /branding.css, a small stylesheet made from the settings, since the
Content-Security-Policy allows styles from Signet's own URLs only (no inline style, no <style>).
"""

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from . import prepared

# Pages link the URL carrying a digest of the stylesheet: a new colour is a new URL, so that one may be
# kept a year. Any other URL (no version, or an old one) is checked again on every use.
CACHE_CONTROL = "public, max-age=31536000, immutable"
CACHE_CONTROL_UNVERSIONED = "no-cache"


@dataclass(frozen=True)
class Stylesheet:
    body: bytes
    digest: str  # of the body: the ETag, and the URL's version

    @property
    def etag(self):
        return f'"{self.digest}"'


def _channels(color):
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return [int(digits[i : i + 2], 16) for i in (0, 2, 4)]


def _luminance(channels):
    """WCAG 2 relative luminance of an sRGB colour."""
    linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a, b):
    lighter, darker = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _hex(channels):
    return "#" + "".join(f"{c:02x}" for c in channels)


@lru_cache(maxsize=8)
def stylesheet(color):
    """The CSS custom properties for one primary colour: the colour, its hover shade and its text colour."""
    channels = _channels(color)
    dark = [round(c * 0.78) for c in channels]  # hover and pressed: the same hue, darker
    white, ink = [255, 255, 255], [27, 31, 36]
    # Button text stays readable whatever colour an operator picks (WCAG AA wants 4.5:1 for text).
    on_accent = white if _contrast(channels, white) >= _contrast(channels, ink) else ink
    body = (
        "/* Generated from SIGNET_PRIMARY_COLOR (provider/branding.py). */\n"
        f":root {{ --accent: {_hex(channels)}; --accent-dark: {_hex(dark)}; "
        f"--on-accent: {_hex(on_accent)}; }}\n"
        # The admin's own variables, so its header and buttons wear the same colour.
        f"html[data-theme], :root {{ --header-bg: {_hex(dark)}; --primary: {_hex(channels)}; "
        f"--secondary: {_hex(dark)}; --header-link-color: #fff; --breadcrumbs-bg: {_hex(channels)}; "
        f"--button-bg: {_hex(channels)}; --button-hover-bg: {_hex(dark)}; "
        f"--default-button-bg: {_hex(dark)}; --default-button-hover-bg: {_hex(channels)}; }}\n"
    ).encode()
    return Stylesheet(body=body, digest=hashlib.sha256(body).hexdigest()[:32])


def stylesheet_url():
    """The stylesheet's URL as pages link it: versioned by the digest of its content."""
    return f"{reverse('branding-css')}?v={stylesheet(settings.SIGNET_PRIMARY_COLOR).digest[:12]}"


def _admin_header():
    return gettext("%(site)s administration") % {"site": settings.SIGNET_SITE_NAME}


def _admin_title():
    return gettext("%(site)s admin") % {"site": settings.SIGNET_SITE_NAME}


# The admin's header and window title, read when a page renders: in its language, with today's name.
ADMIN_HEADER = lazy(_admin_header, str)()
ADMIN_TITLE = lazy(_admin_title, str)()


def branding(request):
    """Context processor: what every page shows of the operator's brand."""
    return {
        "site_name": settings.SIGNET_SITE_NAME,
        "logo_url": settings.SIGNET_LOGO_URL,
        "branding_css_url": stylesheet_url(),
    }


@require_safe
def branding_css(request):
    """The primary colour as CSS custom properties; 304 to a matching If-None-Match."""
    current = stylesheet(settings.SIGNET_PRIMARY_COLOR)
    if prepared.matches(request.headers.get("If-None-Match"), current.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(current.body, content_type="text/css; charset=utf-8")
    response["ETag"] = current.etag
    versioned = request.GET.get("v") == current.digest[:12]
    response["Cache-Control"] = CACHE_CONTROL if versioned else CACHE_CONTROL_UNVERSIONED
    return response
