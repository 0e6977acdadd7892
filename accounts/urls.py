from django.urls import path

from . import authn_views, passkey_views, session_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", authn_views.SecondFactorView.as_view(), name="login_verify"),
    path("login/setup/", authn_views.MfaSetupView.as_view(), name="mfa_setup"),
    path("reauth/", authn_views.ReauthView.as_view(), name="reauth"),
    path("security/", authn_views.SecurityView.as_view(), name="security"),
    path("security/totp/", authn_views.TotpEnrolView.as_view(), name="totp_enrol"),
    path("security/totp/remove/", authn_views.TotpRemoveView.as_view(), name="totp_remove"),
    path("security/recovery-codes/", authn_views.RecoveryCodesView.as_view(), name="recovery_codes"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    # Sign-in sessions (accounts/session_views.py): list them, end one or every other.
    path("sessions/", session_views.SessionsView.as_view(), name="sessions"),
    path("sessions/<int:pk>/end/", session_views.SessionEndView.as_view(), name="session_end"),
    path("sessions/end-others/", session_views.SessionsEndOthersView.as_view(), name="sessions_end_others"),
    path("profile/edit/", views.ProfileEditView.as_view(), name="profile_edit"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Passkeys (accounts/passkey_views.py): the WebAuthn ceremonies as JSON, and the security page's forms.
    path("passkeys/register/options/", passkey_views.register_options, name="passkey_register_options"),
    path("passkeys/register/", passkey_views.register, name="passkey_register"),
    path("passkeys/sign-in/options/", passkey_views.sign_in_options, name="passkey_sign_in_options"),
    path("passkeys/sign-in/", passkey_views.sign_in, name="passkey_sign_in"),
    path("passkeys/verify/options/", passkey_views.verify_options, name="passkey_verify_options"),
    path("passkeys/verify/", passkey_views.verify, name="passkey_verify"),
    path("passkeys/<int:pk>/rename/", passkey_views.rename, name="passkey_rename"),
    path("passkeys/<int:pk>/remove/", passkey_views.remove, name="passkey_remove"),
]
