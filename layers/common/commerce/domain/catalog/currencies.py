"""ISO 4217 codes a price may be in: the active national and regional currencies.

Fund codes (BOV, CHE, ...), precious metals (XAU, ...), the SDR and the testing codes are left out:
nothing is sold in them. The list changes rarely (ZWG in 2024, XCG in 2025); extend it when ISO does.
"""

from __future__ import annotations

_CODES = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR
    MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR
    SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
    USD UYU UZS VES VED VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""

ISO_4217_CURRENCIES: frozenset[str] = frozenset(_CODES.split())


def is_currency(code: str) -> bool:
    return code in ISO_4217_CURRENCIES
