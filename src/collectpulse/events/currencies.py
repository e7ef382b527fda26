"""The ISO 4217 currency codes a payment or promise may be denominated in.

Source: ISO 4217 List One (active codes), as maintained by SIX, mid-2025:
ANG was replaced by XCG (2025), ZWL by ZWG (2024), HRK by EUR (2023), SLL by
SLE. Codes that are not money a debtor can owe are left out on purpose:
precious metals (XAU, XAG, XPT, XPD), bond-market units (XBA..XBD), XDR, XSU,
XUA, the testing code XTS and XXX ("no currency"). Fund codes (e.g. CLF, the
Chilean Unidad de Fomento, in which Chilean debts are indexed) are kept.
"""

from typing import Final

_LIST_ONE = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN
    BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK
    DJF DKK DOP DZD
    EGP ERN ETB EUR
    FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD
    HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK
    JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN
    NAD NGN NIO NOK NPR NZD
    OMR
    PAB PEN PGK PHP PKR PLN PYG
    QAR
    RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL
    THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD USN UYI UYU UYW UZS
    VED VES VND VUV
    WST
    XAF XCD XCG XOF XPF
    YER
    ZAR ZMW ZWG
"""

ACTIVE_CURRENCY_CODES: Final[frozenset[str]] = frozenset(_LIST_ONE.split())


def is_active_currency(code: str) -> bool:
    """Tell whether `code` is an active ISO 4217 code (upper case, as ISO writes it)."""
    return code in ACTIVE_CURRENCY_CODES
