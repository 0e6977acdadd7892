"""The README's links lead somewhere: every in-page link to a heading it has, every relative link to a
file or folder of the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def prose(text):
    """The text outside fenced code blocks, where a `#` line is a comment, not a heading."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchor(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped (not `-` or `_`), spaces to `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text):
    seen = {}
    for heading in re.findall(r"^#{1,6} (.+)$", prose(text), re.M):
        base = anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        yield base if count == 0 else f"{base}-{count}"


def links(text):
    # Inline code may show link syntax without being one.
    return re.findall(r"\]\(([^)\s]+)\)", re.sub(r"`[^`\n]*`", "", prose(text)))


def test_the_anchor_rule_matches_github():
    assert anchor("Device authorization (RFC 8628)") == "device-authorization-rfc-8628"
    assert anchor("private_key_jwt") == "private_key_jwt"
    assert anchor("Users, clients and groups day to day") == "users-clients-and-groups-day-to-day"
    assert list(anchors("# A\n```\n# not a heading\n```\n## A\n")) == ["a", "a-1"]


def test_every_in_page_link_names_a_heading():
    known = set(anchors(README))
    targets = [link[1:] for link in links(README) if link.startswith("#")]
    assert len(targets) >= 20, targets  # the extraction itself is checked
    assert sorted({t for t in targets if t not in known}) == []


def test_every_relative_link_names_a_file_of_the_repository():
    paths = [link.split("#")[0] for link in links(README) if not re.match(r"[a-z]+:|#", link)]
    assert "SECURITY.md" in paths and "bench/README.md" in paths, paths
    assert sorted({p for p in paths if not (ROOT / p).exists()}) == []
