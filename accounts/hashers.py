"""Password hashing: Argon2id at the cost OWASP recommends, set from the environment."""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class SignetArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's Argon2id hasher with its cost from SIGNET_ARGON2_* (same "argon2" format).

    Django's own parameters (100 MiB, 2 passes, 8 lanes) cost about 270 ms of CPU per sign-in on a
    2-vCPU machine and 100 MiB per sign-in in progress, so a burst of logins can exhaust a worker's
    memory. The default here is the OWASP Password Storage Cheat Sheet's first recommendation for
    Argon2id: 19 MiB, 2 passes, 1 lane (Keycloak's default is its 7 MiB, 5 passes variant).
    A stored hash with other parameters still verifies and is re-hashed at its next successful sign-in.
    """

    @property
    def memory_cost(self):
        return settings.SIGNET_ARGON2_MEMORY_KIB

    @property
    def time_cost(self):
        return settings.SIGNET_ARGON2_TIME_COST

    @property
    def parallelism(self):
        return settings.SIGNET_ARGON2_PARALLELISM
