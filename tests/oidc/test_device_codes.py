"""The user-code rules (RFC 8628 6.1), imported directly: alphabet, length, display, typed forms."""

import pytest

from provider.oidc import device


def test_the_alphabet_has_no_vowels_and_no_digits():
    # No vowels: no words, and no I or O to read as 1 or 0.
    assert len(set(device.USER_CODE_ALPHABET)) == 20
    assert not set(device.USER_CODE_ALPHABET) & set("AEIOUY0123456789")


def test_generated_codes_are_eight_letters_of_the_alphabet():
    codes = {device.user_code_generate() for _ in range(200)}
    assert all(len(c) == 8 and set(c) <= set(device.USER_CODE_ALPHABET) for c in codes)
    assert len(codes) == 200  # 20^8 possibilities: 200 draws do not repeat


def test_display_is_two_groups_of_four():
    assert device.user_code_display("BCDFGHJK") == "BCDF-GHJK"


@pytest.mark.parametrize(
    "typed", ["BCDF-GHJK", "bcdf-ghjk", "bcdfghjk", " BcDf GhJk ", "BC-DF-GH-JK", "bcdf\t-\tghjk"]
)
def test_what_a_person_types_is_normalised(typed):
    assert device.user_code_normalize(typed) == "BCDFGHJK"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "BCDF-GHJ",
        "BCDF-GHJKL",
        "ACDF-GHJK",
        "BCDF-GHJ1",
        "BCDF_GHJK",
        "ВCDF-GHJK",
        None,
        12345678,
        "B" * 65,
    ],
)
def test_anything_else_is_no_code(typed):
    assert device.user_code_normalize(typed) is None


def test_device_codes_are_long_and_distinct():
    codes = {device.device_code_generate() for _ in range(50)}
    assert len(codes) == 50 and all(len(c) >= 43 for c in codes)
