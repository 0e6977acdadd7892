from django.db import models


class AuditEvent(models.Model):
    """Something security-relevant that happened: who, which client, from where, in which request."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    event = models.CharField(max_length=64, db_index=True, help_text='e.g. "login.failed", "key.rotated"')
    actor = models.CharField(max_length=254, blank=True, default="", db_index=True)
    # As long as Client.client_id: a client ID metadata document's URL is its client_id.
    client_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit event"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event} {self.actor}".strip()
