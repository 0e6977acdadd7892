"""The signing-key admin: a list with states and dates, rotate and revoke, and no private material."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse, reverse_lazy

from keys import selectors, services
from keys.models import SigningKey

pytestmark = pytest.mark.django_db
State = SigningKey.State
CHANGELIST = reverse_lazy("admin:keys_signingkey_changelist")
ROTATE = reverse_lazy("admin:keys_signingkey_rotate")


@pytest.fixture
def ring():
    services.key_ensure_active()
    rotation = services.key_rotate()
    selectors.invalidate()
    return rotation


@pytest.fixture
def superuser_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root@example.com", "a long admin password 123")
    client.force_login(admin)
    return client


@pytest.fixture
def viewer_client(client, django_user_model):
    """Staff allowed to view keys, not to rotate or revoke them."""
    viewer = django_user_model.objects.create_user("viewer@example.com", "a long viewer password 123")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_signingkey"))
    client.force_login(viewer)
    return client


def assert_no_private_material(html):
    for key in SigningKey.objects.all():
        if key.encrypted_private_jwk:
            assert key.encrypted_private_jwk not in html
            assert key.encrypted_private_jwk.split(".")[3][:40] not in html
            loaded = selectors.key_by_kid(key.kid)
            if loaded is not None:
                for member in ("d", "p", "q", "dp", "dq", "qi"):
                    assert loaded.private_jwk.export_private(as_dict=True)[member] not in html
    assert "encrypted_private_jwk" not in html and "PRIVATE KEY" not in html


def test_changelist_lists_kid_state_algorithm_and_dates(superuser_client, ring):
    response = superuser_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    for key in SigningKey.objects.all():
        assert key.kid in html
    for heading in ("Kid", "State", "Alg", "Created at", "Activated at", "Retired at", "Retain until"):
        assert heading in html
    assert "Rotate now" in html
    assert_no_private_material(html)


def test_change_page_shows_public_jwk_only(superuser_client, ring):
    key = SigningKey.objects.get(kid=ring.active.kid)
    response = superuser_client.get(reverse("admin:keys_signingkey_change", args=[key.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert key.public_jwk["n"][:40] in html
    assert_no_private_material(html)


def test_rotate_asks_then_rotates(superuser_client, ring):
    confirm = superuser_client.get(ROTATE)
    assert confirm.status_code == 200 and b"csrfmiddlewaretoken" in confirm.content
    assert SigningKey.objects.get(state=State.ACTIVE).kid == ring.active.kid  # GET changed nothing
    nxt = SigningKey.objects.get(state=State.NEXT).kid
    response = superuser_client.post(ROTATE, follow=True)
    assert response.redirect_chain[-1][0] == str(CHANGELIST)
    assert f"Rotated: {nxt} now signs." in response.content.decode()
    assert SigningKey.objects.get(state=State.ACTIVE).kid == nxt
    assert selectors.active_signing_key().kid == nxt
    assert_no_private_material(response.content.decode())


def test_revoke_action_asks_for_confirmation_then_revokes(superuser_client, ring):
    target = SigningKey.objects.get(kid=ring.retired.kid)
    data = {"action": "revoke_selected", "_selected_action": [target.pk]}
    confirm = superuser_client.post(CHANGELIST, data)
    assert confirm.status_code == 200 and target.kid in confirm.content.decode()
    assert SigningKey.objects.get(pk=target.pk).state == State.RETIRED  # not yet
    assert_no_private_material(confirm.content.decode())
    done = superuser_client.post(CHANGELIST, {**data, "confirmed": "yes"}, follow=True)
    assert "Revoked 1 key(s)." in done.content.decode()
    assert SigningKey.objects.get(pk=target.pk).state == State.REVOKED
    assert selectors.key_by_kid(target.kid) is None


def test_revoking_the_active_key_in_the_admin_activates_a_fresh_one(superuser_client, ring):
    active = SigningKey.objects.get(state=State.ACTIVE)
    data = {"action": "revoke_selected", "_selected_action": [active.pk], "confirmed": "yes"}
    superuser_client.post(CHANGELIST, data)
    assert SigningKey.objects.get(state=State.ACTIVE).kid not in (active.kid, ring.retired.kid)


def test_nothing_can_be_added_edited_or_deleted(superuser_client, ring):
    key = SigningKey.objects.get(kid=ring.active.kid)
    assert superuser_client.get(reverse("admin:keys_signingkey_add")).status_code == 403
    assert superuser_client.get(reverse("admin:keys_signingkey_delete", args=[key.pk])).status_code == 403
    superuser_client.post(reverse("admin:keys_signingkey_change", args=[key.pk]), {"state": "revoked"})
    assert SigningKey.objects.get(pk=key.pk).state == State.ACTIVE


def test_a_viewer_can_list_but_not_rotate_or_revoke(viewer_client, ring):
    page = viewer_client.get(CHANGELIST)
    assert page.status_code == 200 and ring.active.kid in page.content.decode()
    assert "Rotate now" not in page.content.decode()
    assert "revoke_selected" not in page.content.decode()
    assert viewer_client.post(ROTATE).status_code == 403
    active = SigningKey.objects.get(state=State.ACTIVE)
    viewer_client.post(
        CHANGELIST, {"action": "revoke_selected", "_selected_action": [active.pk], "confirmed": "yes"}
    )
    assert SigningKey.objects.get(pk=active.pk).state == State.ACTIVE
    assert SigningKey.objects.get(state=State.ACTIVE).kid == ring.active.kid


def test_each_algorithm_rotates_on_its_own(superuser_client, settings):
    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    for alg in settings.SIGNET_SIGNING_ALGS:
        services.key_ensure_active(alg=alg)
    selectors.invalidate()
    listing = superuser_client.get(CHANGELIST).content.decode()
    assert f"{ROTATE}?alg=RS256" in listing and f"{ROTATE}?alg=ES256" in listing

    rs256 = SigningKey.objects.get(state=State.ACTIVE, alg="RS256").kid
    es256_next = SigningKey.objects.get(state=State.NEXT, alg="ES256").kid
    confirm = superuser_client.get(ROTATE, {"alg": "ES256"}).content.decode()
    assert es256_next in confirm and rs256 not in confirm
    response = superuser_client.post(f"{ROTATE}?alg=ES256", follow=True)
    assert f"Rotated: {es256_next} now signs." in response.content.decode()
    assert SigningKey.objects.get(state=State.ACTIVE, alg="ES256").kid == es256_next
    assert SigningKey.objects.get(state=State.ACTIVE, alg="RS256").kid == rs256  # untouched
    assert selectors.active_signing_key(alg="ES256").kid == es256_next


def test_an_algorithm_the_ring_does_not_keep_cannot_be_rotated(superuser_client, ring):
    assert superuser_client.get(ROTATE, {"alg": "EdDSA"}).status_code == 404
    assert superuser_client.post(f"{ROTATE}?alg=HS256").status_code == 404
    assert SigningKey.objects.get(state=State.ACTIVE).kid == ring.active.kid
