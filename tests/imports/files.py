"""CSV files for the import tests: good rows and one of every kind of bad row."""

from __future__ import annotations

HEADER = "externalRef;Name;classification;industry;source;city;countryCode;email;attributes"
GOOD = [
    'A-1;Acme GmbH;A;Farming;WEBSITE;Ulm;de;Info@Acme.de;"{""tier"": 1}"',
    'A-2;"Beta\nFarms";B;;;"Linz; Upper";AT;;',
    "A-3;Gamma;;;;;;;",
]
# (line, row error (row, column, code)) in file order; row numbers count the header as 1.
BAD = [
    ("A-4;Delta;Z;;;;;;", (7, "classification", "INVALID_VALUE")),
    ("A-5;Epsilon;;;;;XX;;", (8, "countryCode", "INVALID_INPUT")),
    ("A-1;Again;;;;;;;", (9, "externalRef", "DUPLICATE_IN_FILE")),
    ("A-6,Zeta,,,,,,,", (10, "externalRef", "WRONG_DELIMITER")),
    ("A-7;Eta;;;;;;;;;extra", (11, "#10", "TOO_MANY_FIELDS")),
    ("A-8;;;;;;;;", (12, "name", "INVALID_INPUT")),
    ('A-9;Theta;;;;;;;"[1]"', (13, "attributes", "INVALID_VALUE")),
]
NOT_UTF8 = (b"A-10;Caf\xe9;;;;;;;\n", (14, "name", "NOT_UTF8"))
BROKEN_QUOTE = ('A-11;Io"ta;"open;;;;;;\n', (15, None, "BROKEN_QUOTE"))


def accounts_file(*, bad: bool = True, bom: bool = True) -> bytes:
    lines = [HEADER, *GOOD]
    # Two more good rows after the bad ones are numbered 5 and 6 (before the bad ones).
    lines += ["A-12;Kappa;C;;EVENT;;;;", "A-13;Lambda;D;;;;;;"]
    if bad:
        lines += [line for line, _ in BAD]
    data = ("\r\n".join(lines) + "\r\n").encode()
    if bad:
        data += NOT_UTF8[0] + BROKEN_QUOTE[0].encode()
    return (b"\xef\xbb\xbf" if bom else b"") + data


def expected_errors() -> list[tuple[int, str | None, str]]:
    return [e for _, e in BAD] + [NOT_UTF8[1], BROKEN_QUOTE[1]]


GOOD_REFS = sorted(["A-1", "A-2", "A-3", "A-12", "A-13"])
