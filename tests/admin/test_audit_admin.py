"""The audit log in the admin: searchable, filterable, and read-only."""

import pytest
from django.urls import reverse

from provider.audit import audit
from provider.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

LIST = reverse("admin:audit_auditevent_changelist")


@pytest.fixture
def events():
    audit("login.failed", actor="mallory@example.com", locked_out=False)
    audit("key.rotated", kid="kid-123")
    return AuditEvent.objects.all()


def _rows(response):
    """The result table only (the filter sidebar lists every event name)."""
    html = response.content.decode()
    return html[html.index('id="result_list"') : html.index("</table>", html.index('id="result_list"'))]


def test_search_and_filter(admin_http, events):
    by_actor = _rows(admin_http.get(LIST, {"q": "mallory"}))
    assert "login.failed" in by_actor and "key.rotated" not in by_actor
    by_detail = _rows(admin_http.get(LIST, {"q": "kid-123"}))
    assert "key.rotated" in by_detail and "mallory" not in by_detail
    by_event = _rows(admin_http.get(LIST, {"event": "key.rotated"}))
    assert "key.rotated" in by_event and "mallory" not in by_event


def test_history_cannot_be_added_changed_or_deleted(admin_http, events):
    event = events.first()
    assert admin_http.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert admin_http.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    admin_http.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"event": "forged"})
    event.refresh_from_db()
    assert event.event != "forged"
    page = admin_http.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode()
    assert 'name="_save"' not in page
