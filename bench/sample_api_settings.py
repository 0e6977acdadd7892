"""The sample API's own settings, with a URL conf that adds its hello view with authentication off.

Scenario 6 compares the protected endpoint (a verified at+jwt) with this exact view unprotected, in
one process, so the difference is the token verification alone.
"""

from sample_api.settings import *  # noqa: F403

ROOT_URLCONF = "bench.sample_api_urls"
