"""Access tokens are no longer stored: the grant (TokenFamily) keeps what they needed.

Existing families take their scopes, resources and userinfo claims request from their live refresh
token's access token row, the only place they were kept until now.
"""

from django.db import migrations, models


def grants_from_access_tokens(apps, schema_editor):
    TokenFamily = apps.get_model("oidc", "TokenFamily")
    RefreshToken = apps.get_model("oauth2_provider", "RefreshToken")
    UserinfoClaimsRequest = apps.get_model("oidc", "UserinfoClaimsRequest")
    for family in TokenFamily.objects.filter(scope="").iterator():
        latest = (
            RefreshToken.objects.filter(token_family=family.family, access_token__isnull=False)
            .select_related("access_token")
            .order_by("-created")
            .first()
        )
        if latest is None:
            continue
        family.scope = latest.access_token.scope or ""
        family.resource = list(latest.resource or [])
        claims = UserinfoClaimsRequest.objects.filter(access_token=latest.access_token).first()
        family.userinfo_claims = claims.claims if claims is not None else None
        family.save(update_fields=["scope", "resource", "userinfo_claims"])


class Migration(migrations.Migration):
    dependencies = [
        ("oidc", "0005_tokenfamily_acr_and_id_token_claims"),
        ("oauth2_provider", "__latest__"),
    ]

    operations = [
        migrations.AddField(
            model_name="tokenfamily",
            name="scope",
            field=models.TextField(blank=True, default="", help_text="The granted scopes, space-separated."),
        ),
        migrations.AddField(
            model_name="tokenfamily",
            name="resource",
            field=models.JSONField(
                blank=True, default=list, help_text="The granted resources (RFC 8707), each a token audience."
            ),
        ),
        migrations.AddField(
            model_name="tokenfamily",
            name="userinfo_claims",
            field=models.JSONField(
                blank=True,
                null=True,
                help_text="The userinfo part of the sign-in's claims request (OIDC Core 5.5).",
            ),
        ),
        migrations.AlterModelOptions(name="tokenfamily", options={"verbose_name": "grant"}),
        migrations.CreateModel(
            name="RevokedAccessToken",
            fields=[
                ("jti", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.RunPython(grants_from_access_tokens, migrations.RunPython.noop),
        migrations.DeleteModel(name="UserinfoClaimsRequest"),
    ]
