"""Free e-mail providers: an address at one of these says nothing of the person's company, so
leads and contacts from them are matched to an account by company name instead.

Maintained by hand; providers with many country domains (yahoo.co.uk, yahoo.co.id,
hotmail.fr…) are listed by their name in FREE_MAIL_NAMES and match any country domain."""

# Exact domains.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "passport.com", "icloud.com", "me.com", "mac.com", "aol.com", "aim.com", "gmx.com",
    "gmx.net", "gmx.de", "web.de", "t-online.de", "freenet.de", "mail.com", "email.com",
    "usa.com", "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com",
    "tutanota.de", "tuta.io", "zoho.com", "zohomail.com", "yandex.com", "yandex.ru", "ya.ru",
    "mail.ru", "inbox.ru", "list.ru", "bk.ru", "rambler.ru", "qq.com", "foxmail.com",
    "163.com", "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com", "aliyun.com",
    "139.com", "naver.com", "hanmail.net", "daum.net", "kakao.com", "nate.com",
    "rediffmail.com", "fastmail.com", "fastmail.fm", "hey.com", "hushmail.com",
    "mailinator.com", "laposte.net", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr",
    "libero.it", "virgilio.it", "tiscali.it", "seznam.cz", "wp.pl", "o2.pl", "onet.pl",
    "interia.pl", "bol.com.br", "uol.com.br", "terra.com.br", "btinternet.com",
    "sky.com", "virginmedia.com", "ntlworld.com", "comcast.net", "verizon.net", "att.net",
    "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net", "earthlink.net", "shaw.ca",
    "rogers.com", "sympatico.ca", "bigpond.com", "optusnet.com.au", "xtra.co.nz",
    "docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "nifty.com", "biglobe.ne.jp",
})

# Providers whose name matches under any country domain: yahoo.com, yahoo.co.jp, ymail.com…
FREE_MAIL_NAMES = frozenset({
    "yahoo", "ymail", "rocketmail", "hotmail", "outlook", "live", "windowslive", "gmx",
    "yandex", "aol", "icloud",
})


def is_free_mail(domain):
    """Whether an e-mail domain is a free provider's ("gmail.com", "yahoo.co.id", …)."""
    domain = (domain or "").strip().lower()
    if not domain:
        return False
    if domain in FREE_MAIL_DOMAINS:
        return True
    return domain.split(".", 1)[0] in FREE_MAIL_NAMES
