"""Which passwords are accepted: NIST SP 800-63B-4 §3.1.1.2 — length, a blocklist and context, no composition rules.

What is checked, and why:

* Length in Unicode code points after NFKC normalisation (NIST: normalise before counting and hashing). Any
  character is allowed — spaces, accents, emoji — so passphrases are easy; nothing is ever truncated.
* A blocklist of common passwords (zxcvbn's maintained 30k list), compared case-insensitively, also after removing
  whitespace, digits and symbols at either end, and undoing common look-alike substitutions ("P@ssw0rd2024!!!"),
  and when the password is only a blocklisted word repeated ("passwordpassword...").
* Context-specific words (NIST: the user's name and username): the email, its local part and the display name.
* Trivial strings: one character repeated, or a run of consecutive letters or digits ("abcdefghijklmno").

No composition rules (no "one digit, one capital"): NIST forbids them; they make passwords harder to remember,
not harder to guess. Callers hash ``normalise(password)`` and verify with it too (see ``impl.auth.passwords``).
"""

from __future__ import annotations

import importlib.util
import re
import string
import unicodedata
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

# NIST SP 800-63B-4: at least 15 characters when the password is the only factor, 8 only when it is part of
# multi-factor authentication. Charter has no second factor, so 15.
MIN_PASSWORD_LENGTH = 15
# NIST asks for at least 64; 256 allows long passphrases while bounding the work done on untrusted input.
MAX_PASSWORD_LENGTH = 256
# Longer raw input is refused before normalising: NFKC composes at most 4 code points into one (a canonical
# decomposition is at most 4 long), so such input can never come down to MAX_PASSWORD_LENGTH.
_MAX_RAW_LENGTH = 4 * MAX_PASSWORD_LENGTH
# Context words shorter than this ("al", "bob") are not searched for inside the password: they would reject many
# good passphrases by accident while adding little (the exact email and name are still compared).
_MIN_CONTEXT_WORD_LENGTH = 4

_WHITESPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[\W_]+")
# Common look-alike substitutions; "1" is tried both as "i" and as "l".
_LEET_I = str.maketrans({"@": "a", "4": "a", "0": "o", "3": "e", "1": "i", "!": "i", "$": "s", "5": "s", "7": "t"})
_LEET_L = str.maketrans({"@": "a", "4": "a", "0": "o", "3": "e", "1": "l", "!": "i", "$": "s", "5": "s", "7": "t"})
_SEQUENCE_ALPHABETS = (string.digits, string.ascii_lowercase)

TOO_SHORT = f"Use at least {MIN_PASSWORD_LENGTH} characters; a passphrase of a few words is easy to remember."
TOO_LONG = f"Use at most {MAX_PASSWORD_LENGTH} characters."
TOO_COMMON = "This password is too common: it, or a simple variation of it, is on a list of frequently used passwords."
TRIVIAL = "The password must not be one character repeated or a run of consecutive letters or digits."
HAS_CONTEXT = "The password must not contain your email address or your name."


def normalise(password: str) -> str:
    """NFKC: the same passphrase typed with composed or decomposed accents, or full-width forms, is the same."""
    return unicodedata.normalize("NFKC", password)


class PasswordPolicy:
    """The password rules; built once by the app factory (loading the blocklist is the costly part)."""

    def __init__(self, *, blocklist: Iterable[str]) -> None:
        self._blocklist = frozenset(word.casefold() for word in blocklist)

    @classmethod
    def default(cls) -> PasswordPolicy:
        """The policy with zxcvbn's list of the 30,000 most common passwords."""
        return cls(blocklist=_common_passwords())

    def problems(self, password: str, *, email: str | None = None, name: str | None = None) -> list[str]:
        """Why ``password`` is not acceptable, as sentences for the user; an empty list means it is acceptable.

        ``email`` and ``name`` are the account's, when known; they are never echoed back.
        """
        if len(password) > _MAX_RAW_LENGTH:
            return [TOO_LONG]  # quickly, without normalising megabytes
        normalised = normalise(password)
        if len(normalised) > MAX_PASSWORD_LENGTH:
            return [TOO_LONG]
        reasons: list[str] = []
        if len(normalised) < MIN_PASSWORD_LENGTH:
            reasons.append(TOO_SHORT)
        folded = normalised.casefold()
        compact = _WHITESPACE.sub("", folded)
        if _is_trivial(compact):
            reasons.append(TRIVIAL)
        variants = _variants(folded, compact)
        if any(self._is_blocklisted(variant) for variant in variants):
            reasons.append(TOO_COMMON)
        context = _context_words(email=email, name=name)
        if any(word in variant for word in context for variant in variants):
            reasons.append(HAS_CONTEXT)
        return reasons

    def _is_blocklisted(self, candidate: str) -> bool:
        """The word itself, or the word repeated ("passwordpassword"), is on the blocklist."""
        if candidate in self._blocklist:
            return True
        length = len(candidate)
        for times in range(2, length + 1):
            if length % times == 0:
                unit = candidate[: length // times]
                if unit * times == candidate and unit in self._blocklist:
                    return True
        return False


def _common_passwords() -> list[str]:
    """zxcvbn's password list, read from its data module alone, which is then let go.

    ``import zxcvbn.frequency_lists`` would run the package's ``__init__``, whose matcher indexes all six lists
    (names, surnames, Wikipedia and film words too) for as long as the process lives: ~8 MB of a worker's memory
    for one list of 30,000 words.
    """
    package = importlib.util.find_spec("zxcvbn")  # locates the package without importing it
    if package is None or not package.submodule_search_locations:
        raise RuntimeError("zxcvbn is not installed: the password blocklist comes from it")
    path = Path(package.submodule_search_locations[0]) / "frequency_lists.py"
    spec = importlib.util.spec_from_file_location("_charter_zxcvbn_frequency_lists", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    lists = importlib.util.module_from_spec(spec)  # never put in sys.modules: collected after this returns
    spec.loader.exec_module(lists)
    passwords: list[str] = lists.FREQUENCY_LISTS["passwords"]
    return passwords


def _variants(folded: str, compact: str) -> set[str]:
    """The forms of a case-folded password compared with the blocklist and the context words.

    Blocklist entries have no spaces and are short, so besides the password itself: without whitespace; without
    the digits and symbols people append or prepend to a common word ("password1234567"); and with look-alike
    substitutions undone ("p@ssw0rd").
    """
    core = _strip_non_letters(compact)
    variants = {folded, compact}
    if core:
        variants.update({core, core.translate(_LEET_I), core.translate(_LEET_L)})
    variants.update({compact.translate(_LEET_I), compact.translate(_LEET_L)})
    return variants


def _strip_non_letters(text: str) -> str:
    start = 0
    end = len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


def _is_trivial(compact: str) -> bool:
    """One character repeated (spaces ignored, so "               " too), or a run like "0123456789012" / "zyx...".

    An empty ``compact`` means the password was whitespace only: trivial as well.
    """
    if len(set(compact)) <= 1:
        return True
    for alphabet in _SEQUENCE_ALPHABETS:
        if all(char in alphabet for char in compact):
            positions = [alphabet.index(char) for char in compact]
            steps = {(b - a) % len(alphabet) for a, b in pairwise(positions)}
            if steps in ({1}, {len(alphabet) - 1}):
                return True
    return False


def _context_words(*, email: str | None, name: str | None) -> set[str]:
    """The email, its local part, the name without spaces, and their parts ("john.smith" -> "john", "smith")."""
    words: set[str] = set()
    if email:
        folded_email = normalise(email).strip().casefold()
        local_part = folded_email.rpartition("@")[0]
        words.update({folded_email, local_part, *_NON_WORD.split(local_part)})
    if name:
        folded_name = normalise(name).casefold()
        words.update({_WHITESPACE.sub("", folded_name), *_NON_WORD.split(folded_name)})
    return {word for word in words if len(word) >= _MIN_CONTEXT_WORD_LENGTH}
