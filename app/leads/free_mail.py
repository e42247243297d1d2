"""Mail providers' domains: a lead and an account sharing one are not thereby one company."""

from __future__ import annotations

FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "proton.me",
        "protonmail.com",
        "mail.com",
        "yandex.ru",
    ]
)
