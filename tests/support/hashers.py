from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with tiny cost parameters, for tests only: the same algorithm and "argon2$" format,
    at about a millisecond instead of Django's 100 MiB per hash (hundreds of hashes per run)."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1
