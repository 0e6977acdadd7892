"""Values derived from random ones that must still differ from them, whatever was drawn."""


def altered(secret, tail=1):
    """`secret` with its last `tail` characters changed: never equal to it (a random secret may end in
    whatever replacement a fixed suffix would use, so the suffix is chosen from what it ends with)."""
    replacement = "".join("B" if c == "A" else "A" for c in secret[-tail:])
    return secret[:-tail] + replacement
