"""SQL functions (created by migration 0009) that make lead and account keys comparable."""

from __future__ import annotations

# Legal forms dropped from the end of a company name: "Acme GmbH & Co. KG" -> "acme".
LEGAL_SUFFIXES = (
    "gmbh|ag|kg|ohg|ug|ek|inc|incorporated|corp|corporation|co|company|ltd|limited|llc|llp|"
    "plc|as|asa|ab|aps|oy|oyj|sa|sas|sarl|srl|spa|bv|nv|sp z oo|zoo|pty|pte|gbr|ev"
)

DUPLICATE_FUNCTIONS = (
    f"""
CREATE FUNCTION leads_company_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
    SELECT nullif(btrim(regexp_replace(
        ' ' || btrim(regexp_replace(lower(name), '[^[:alnum:]]+', ' ', 'g')),
        '( ({LEGAL_SUFFIXES}))+$', '', 'g')), '')
$$""",
    r"""
CREATE FUNCTION leads_web_host(address text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
    SELECT nullif(regexp_replace(
        split_part(split_part(regexp_replace(lower(btrim(address)), '^[a-z]+://', ''), '/', 1),
                   ':', 1),
        '^www\.', ''), '')
$$""",
    """
CREATE FUNCTION leads_email_domain(email text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
    SELECT nullif(lower(split_part(email, '@', 2)), '')
$$""",
)
DROP_DUPLICATE_FUNCTIONS = ("leads_company_key", "leads_web_host", "leads_email_domain")
DUPLICATE_INDEXES = {
    "ix_accounts_company_key": "leads_company_key(name)",
    "ix_accounts_website_host": "leads_web_host(website)",
    "ix_accounts_email_domain": "leads_email_domain(email)",
}

# Mail providers: sharing one says nothing about being the same company.
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
