"""Company names compared as people mean them: normalised (case, punctuation, accents' forms
and legal forms such as Inc, LLC, Ltd, GmbH, PT … Tbk, Co., Ltd. or 株式会社 removed), then
matched exactly or, failing that, fuzzily (rapidfuzz's token-sort ratio, so word order does
not matter) above ABMCRM_COMPANY_MATCH_THRESHOLD.

`CompanyIndex` reads every account's name once and answers many names: a batch of leads
builds one. A fuzzy lookup compares only the accounts sharing a word with the name (an
inverted index by word), so it stays fast with 100,000 accounts."""

import re
import unicodedata
from collections import defaultdict

from rapidfuzz import fuzz, process

# Legal forms, as normalised words, removed from the end of a name (several may follow one
# another: "Co., Ltd.", "Sdn. Bhd."); PREFIXES from its start.
LEGAL_SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "l l c", "ltd", "limited", "gmbh", "mbh", "tbk", "co",
    "corp", "corporation", "company", "plc", "ag", "sa", "s a", "srl", "s r l", "bv", "b v",
    "nv", "n v", "oy", "oyj", "ab", "pty", "pte", "kk", "k k", "llp", "lp", "spa", "s p a",
    "sarl", "sas", "kg", "se", "sdn", "bhd", "ltda", "sl", "s l", "as", "asa", "a s", "aps",
    "pvt", "private", "jsc", "ooo", "cv", "kgaa", "ug", "holdings",
})
LEGAL_PREFIXES = frozenset({"pt", "the", "cv", "ooo"})
# Written without spaces in CJK names: removed wherever they stand (longest first).
LEGAL_MARKS = ("股份有限公司", "株式会社", "有限会社", "合同会社", "有限公司", "(株)", "（株）",
               "㈱", "주식회사", "(주)")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
# A word so common among the accounts that it says little, and would make the candidates
# many: left out of the candidate lookup (not of the comparison).
COMMON_WORD_ACCOUNTS = 2_000


def normalise_company(name):
    """"PT Bank Central Asia Tbk" → "bank central asia"; "Acme, Inc." → "acme";
    "トヨタ自動車株式会社" → "トヨタ自動車"."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    for mark in LEGAL_MARKS:
        text = text.replace(unicodedata.normalize("NFKC", mark).casefold(), " ")
    text = text.replace("&", " and ")
    words = _NOT_WORD.sub(" ", text).split()
    changed = True
    while changed and words:
        changed = False
        for size in (2, 1):
            if len(words) > size and " ".join(words[-size:]) in LEGAL_SUFFIXES:
                del words[-size:]
                changed = True
                break
        if len(words) > 1 and words[0] in LEGAL_PREFIXES:
            del words[0]
            changed = True
    return " ".join(words)


class CompanyIndex:
    """Accounts by normalised name, to match many company names against."""

    def __init__(self, accounts, *, threshold):
        """`accounts`: [(account, name)]; `threshold`: the lowest fuzzy score (0–100)."""
        self.threshold = threshold
        self.exact = defaultdict(list)
        self.names, self.accounts = [], []
        self.words = defaultdict(list)
        for account, name in accounts:
            normalised = normalise_company(name)
            if not normalised:
                continue
            self.exact[normalised].append(account)
            position = len(self.names)
            self.names.append(normalised)
            self.accounts.append(account)
            for word in set(normalised.split()):
                self.words[word].append(position)

    @classmethod
    def from_db(cls, *, threshold=None):
        from .conf import settings
        from .models import Account

        if threshold is None:
            threshold = settings.ABMCRM_COMPANY_MATCH_THRESHOLD
        accounts = Account.objects.only("id", "name", "domain").order_by("id")
        return cls(((account, account.name) for account in accounts.iterator(chunk_size=5000)),
                   threshold=threshold)

    def match(self, company):
        """(account, score 0–100) of the account whose name matches, or None. Two accounts
        with the same normalised name are ambiguous: no match."""
        normalised = normalise_company(company)
        if not normalised:
            return None
        exact = self.exact.get(normalised)
        if exact:
            return (exact[0], 100) if len(exact) == 1 else None
        candidates = set()
        for word in set(normalised.split()):
            positions = self.words.get(word, ())
            if len(positions) <= COMMON_WORD_ACCOUNTS:
                candidates.update(positions)
        if not candidates:
            return None
        choices = {position: self.names[position] for position in candidates}
        best = process.extractOne(normalised, choices, scorer=fuzz.token_sort_ratio,
                                  score_cutoff=self.threshold)
        if best is None:
            return None
        _, score, position = best
        # Two different accounts whose names score the same: ambiguous.
        if len(self.exact[self.names[position]]) > 1:
            return None
        return self.accounts[position], int(round(score))


def match_accounts(people, *, index=None):
    """Match people to accounts: `people` is [(e-mail, company)]; returns {(e-mail,
    company): (account, method, score)} with method "domain" (the e-mail's domain is the
    account's; score 100) or "company" (a free-mail address, matched by company name).
    Two queries at most: the domains, and the accounts' names if any free-mail person names
    a company (`index`: a CompanyIndex already built)."""
    from .domains import domain_of_email
    from .freemail import is_free_mail
    from .models import Account

    domains = {}
    by_company = []
    for email, company in people:
        domain = domain_of_email(email)
        if domain and not is_free_mail(domain):
            domains[(email, company)] = domain
        elif (company or "").strip():
            by_company.append((email, company))
    found = {}
    if domains:
        accounts = {account.domain: account for account in Account.objects.filter(
            domain__in=set(domains.values())).only("id", "name", "domain")}
        for key, domain in domains.items():
            if domain in accounts:
                found[key] = (accounts[domain], "domain", 100)
    if by_company:
        index = index or CompanyIndex.from_db()
        for email, company in by_company:
            matched = index.match(company)
            if matched is not None:
                found[(email, company)] = (matched[0], "company", matched[1])
    return found
