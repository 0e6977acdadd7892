"""The admin's index in Signet's own sections (clients, users, keys, audit, lockouts), not its libraries'.

Django groups models by the app that defines them, so an operator would meet "Django OAuth Toolkit",
"Axes" and "Authentication and authorization" beside Signet's apps. The sections below gather each
model where an operator looks for it; a model registered later and not placed here keeps its own
app's section, so nothing registered is ever hidden by this list.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig

# (section title, the models in it by label, in the order shown, each optionally with its own title)
SECTIONS = (
    (
        "Clients",
        (
            ("oidc.client", None),
            ("oidc.tokenfamily", None),
            ("oidc.consent", None),
            ("oidc.authorizationcode", None),
        ),
    ),
    ("Users", (("accounts.user", None), ("auth.group", None), ("accounts.signinsession", None))),
    ("Signing keys", (("keys.signingkey", None),)),
    ("Audit", (("audit.auditevent", None),)),
    ("Lockouts", (("axes.accessattempt", "Locked sign-ins"),)),
    # The task queue's rows (provider/tasks.py): what the worker ran, runs next, and what failed.
    ("Tasks", (("django_tasks_database.dbtaskresult", "Tasks"),)),
)


class SignetAdminSite(AdminSite):
    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps  # one app's own page lists that app's models, as Django does
        return sections(apps)


def sections(apps):
    """Django's app list regrouped into SECTIONS; models placed nowhere keep their app's section."""
    placed = {}
    for app in apps:
        for model in app["models"]:
            placed[model["model"]._meta.label_lower] = (app, model)
    regrouped = []
    for title, entries in SECTIONS:
        found = [(*placed.pop(label), name) for label, name in entries if label in placed]
        if found:
            models = [{**model, "name": name or model["name"]} for _app, model, name in found]
            # The section links to its first model's app page, as Django's own section would.
            regrouped.append({**found[0][0], "name": title, "models": models})
    for app in apps:
        models = [m for m in app["models"] if m["model"]._meta.label_lower in placed]
        if models:
            regrouped.append({**app, "models": models})
    return regrouped


class SignetAdminConfig(AdminConfig):
    """django.contrib.admin with SignetAdminSite as `admin.site` (settings.INSTALLED_APPS)."""

    default_site = "provider.admin_site.SignetAdminSite"
