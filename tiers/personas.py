"""A contact's persona (job function and seniority) from its title, by the persona rules.

Titles and keywords are compared normalised: lower case, accents kept, every run of
punctuation or space one space ("Sr. Dir. of Mktg" → "sr dir of mktg", "C-level" → "c
level"), so a keyword matches whole words only ("it" never matches "digital") and "Dir." is
written "dir". Matching is a substring search on the space-padded text: no regular
expression per rule, so classifying a title costs a few microseconds per rule and a whole
import is classified in memory before it is written.
"""

import re
import unicodedata
from dataclasses import dataclass

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_title(text):
    """"Sr. Dir., Mktg & Comms" → "sr dir mktg comms"."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _NOT_WORD.sub(" ", text).strip()


@dataclass(frozen=True)
class Rule:
    keyword: str
    job_function: str
    seniority: str
    priority: int
    id: int = 0


class Classifier:
    """The active rules, compiled once; `classify(title)` → (job function, seniority)."""

    default_function = "other"
    default_seniority = "entry"

    def __init__(self, rules):
        self.rules = []
        for rule in rules:
            keyword = normalise_title(rule.keyword)
            if keyword:
                self.rules.append(Rule(f" {keyword} ", rule.job_function, rule.seniority,
                                       rule.priority, getattr(rule, "id", 0) or 0))
        self._cache = {}

    @classmethod
    def from_db(cls):
        from .models import PersonaRule

        return cls(PersonaRule.objects.filter(is_active=True).order_by("priority", "id"))

    def matches(self, title):
        """[(rule, start, end)] of every rule found in the title, less those inside a longer
        match ("president" within "vice president")."""
        text = f" {normalise_title(title)} "
        found = []
        for rule in self.rules:
            start = text.find(rule.keyword)
            while start != -1:
                found.append((rule, start, start + len(rule.keyword)))
                start = text.find(rule.keyword, start + 1)
        return [(rule, start, end) for rule, start, end in found
                if not any(s <= start and end <= e and (e - s) > (end - start)
                           for _, s, e in found)]

    def classify(self, title):
        key = title or ""
        if key in self._cache:
            return self._cache[key]
        function = seniority = None
        for rule, _start, _end in sorted(self.matches(key),
                                     key=lambda m: (m[0].priority, m[1], m[0].id)):
            if function is None and rule.job_function:
                function = rule.job_function
            if seniority is None and rule.seniority:
                seniority = rule.seniority
            if function and seniority:
                break
        result = (function or self.default_function, seniority or self.default_seniority)
        if len(self._cache) < 100_000:
            self._cache[key] = result
        return result


def persona_weight(personas, job_function, seniority):
    """A contact's fit: the highest weight among `personas` [(function, seniority, weight)]
    it matches (an empty function or seniority matches any); 0 without a match."""
    return max((weight for function, level, weight in personas
                if function in ("", job_function) and level in ("", seniority)), default=0)
