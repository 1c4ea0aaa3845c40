"""The password policy follows NIST SP 800-63B: length, blocklist and context — and no composition rules."""

from __future__ import annotations

import pytest

from impl.auth.password_policy import (
    HAS_CONTEXT,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    TOO_COMMON,
    TOO_LONG,
    TOO_SHORT,
    TRIVIAL,
    PasswordPolicy,
    normalise,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def policy() -> PasswordPolicy:
    return PasswordPolicy.default()


def passphrase(length: int) -> str:
    """An unremarkable passphrase of exactly ``length`` characters."""
    words = "quiet lantern drifts over amber fields while "
    return (words * (length // len(words) + 1))[:length]


def test_the_limits_are_nist_s_for_a_single_factor() -> None:
    assert MIN_PASSWORD_LENGTH == 15
    assert MAX_PASSWORD_LENGTH >= 64


@pytest.mark.parametrize("length", [15, 16, 64, 100, 256])
def test_lengths_from_15_to_256_are_accepted(policy: PasswordPolicy, length: int) -> None:
    assert policy.problems(passphrase(length)) == []


def test_14_characters_are_too_short(policy: PasswordPolicy) -> None:
    assert policy.problems(passphrase(14)) == [TOO_SHORT]


def test_257_characters_are_too_long(policy: PasswordPolicy) -> None:
    assert policy.problems(passphrase(257)) == [TOO_LONG]


def test_oversized_input_is_rejected_as_too_long_only(policy: PasswordPolicy) -> None:
    """Megabytes are refused before any other work (no normalising, no blocklist, never hashed)."""
    assert policy.problems("password" * 1_000_000) == [TOO_LONG]


def test_length_is_counted_in_code_points_after_nfkc(policy: PasswordPolicy) -> None:
    decomposed = "e\u0301" * 8  # 16 code points typed, 8 characters "é" after normalising
    assert TOO_SHORT in policy.problems(decomposed + "zqx")
    assert policy.problems("e\u0301" * 3 + passphrase(12)) == []  # 15 after normalising


def test_an_emoji_passphrase_is_counted_by_code_points(policy: PasswordPolicy) -> None:
    emoji = "🐴🔋📎🌵🎻🚲🧀🌋🦉🍋🎈🪐🧭🐙🌶"
    assert len(emoji) == 15
    assert policy.problems(emoji) == []
    assert policy.problems(emoji[:14]) == [TOO_SHORT]


@pytest.mark.parametrize(
    "password",
    ["pässwörter für alle tage", "日本語のパスフレーズは長いです", "Ωμέγα και άλφα μαζί πάντα", "tab\tand newline\nok"],
)
def test_unicode_passphrases_are_accepted(policy: PasswordPolicy, password: str) -> None:
    assert policy.problems(password) == []


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # all lower case, no digits, no symbols
        "ALL CAPITALS IS JUST FINE HERE",
        "nodigitsnosymbolsnothing",
        "1357924680 8642097531",
    ],
)
def test_there_are_no_composition_rules(policy: PasswordPolicy, password: str) -> None:
    assert policy.problems(password) == []


@pytest.mark.parametrize(
    "password",
    [
        "Password1234567",  # a common word with digits appended
        "2024!!password!!",  # ... or prepended and appended
        "passwordpasswordpassword",  # a common word repeated
        "iloveyou iloveyou iloveyou",
        "P@ssw0rd12345678",  # look-alike substitutions
        "Ｐａｓｓｗｏｒｄ１２３４５６７",  # full-width forms, equal after NFKC
        "1qaz2wsx3edc4rfv",  # on the list as it is
        "QWERTYUIOP123456789",
    ],
)
def test_common_passwords_and_simple_variations_are_rejected(policy: PasswordPolicy, password: str) -> None:
    assert TOO_COMMON in policy.problems(password)


@pytest.mark.parametrize("password", ["BASEBALLBASEBALL", "FootBall FootBall", "MoNkEyMoNkEyMoNkEy"])
def test_the_blocklist_ignores_case(policy: PasswordPolicy, password: str) -> None:
    assert policy.problems(password) == [TOO_COMMON]


def test_a_short_blocklisted_word_is_reported_as_common_as_well_as_short(policy: PasswordPolicy) -> None:
    assert policy.problems("Dragon") == [TOO_SHORT, TOO_COMMON]


def test_a_blocklist_can_be_given_explicitly() -> None:
    policy = PasswordPolicy(blocklist=["Lanterns"])
    assert policy.problems("lanternslanternslanterns") == [TOO_COMMON]
    assert policy.problems("password1234567") == []


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaaaaaaa", "🐴" * 20, " " * 20, "abcdefghijklmnopq", "123456789012345", "zyxwvutsrqponml"]
)
def test_one_repeated_character_or_a_run_is_rejected(policy: PasswordPolicy, password: str) -> None:
    assert TRIVIAL in policy.problems(password)


@pytest.mark.parametrize(
    "password",
    [
        "alice.smith@example.com",  # the email itself
        "my address alice.smith@example.com",
        "ALICE.SMITH rides her bike",  # the local part, any case
        "smith family holidays",  # a part of the local part
    ],
)
def test_the_email_is_context_and_rejected(policy: PasswordPolicy, password: str) -> None:
    assert policy.problems(password, email="alice.smith@example.com") == [HAS_CONTEXT]


@pytest.mark.parametrize("password", ["Bartholomew Jones 1999", "bartholomewjones forever", "jonesy and the tigers"])
def test_the_display_name_is_context_and_rejected(policy: PasswordPolicy, password: str) -> None:
    assert policy.problems(password, name="Bartholomew Jones") == [HAS_CONTEXT]


def test_context_only_applies_when_given_and_the_email_domain_is_not_context(policy: PasswordPolicy) -> None:
    assert policy.problems("bartholomew jones 1999") == []
    assert policy.problems("example of a good passphrase", email="alice@example.com") == []
    # A very short name part would reject too many good passphrases by accident; it is not searched for.
    assert policy.problems("alphabet soup with al", name="Al Bo") == []


def test_normalise_is_nfkc() -> None:
    assert normalise("cafe\u0301") == "caf\u00e9"
    assert normalise("Ｐａｓｓ") == "Pass"
    assert normalise("ﬁne") == "fine"
