from django.urls import path

from . import authn_views, views

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
]
