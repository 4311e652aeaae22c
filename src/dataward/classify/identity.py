"""Identity detectors: email, person_name, username, phone, postal_address, date_of_birth, photo_url."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import phonenumbers

from dataward.classify._lists import first_names, is_room_word, last_names
from dataward.classify._possessive import owner
from dataward.classify.base import ColumnFacts, Detector, register_detector

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"


@register_detector
class Email(Detector):
    category = "email"
    names = ("email", "e_mail", "mail", "email_address", "contact_email")
    patterns = (rf"[A-Za-z0-9._%+\-]+@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}}\b",)
    embedded = True
    strong = True
    min_rate = 0.05
    hinted_rate = 0.05
    priority = 90
    # ref: RFC 5321 section 4.5.3.1 (local part <= 64 octets, path <= 256), RFC 1035 labels

    def validate(self, value: str) -> bool:
        local, _, domain = value.rpartition("@")
        if not local or len(local) > 64 or len(value) > 254:
            return False
        if local.startswith(".") or local.endswith(".") or ".." in local:
            return False
        labels = domain.split(".")
        return len(labels) > 1 and labels[-1].isalpha() and all(0 < len(x) <= 63 for x in labels)


_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_]*(?:[-'\u2019][^\W\d_]+)*$")
_PARTICLES = frozenset({"van", "der", "den", "de", "du", "des", "la", "le", "von", "zu", "di", "da", "del", "dos",
                        "das", "do", "y", "e", "i", "mc", "bin", "al", "el", "ten", "ter", "op", "het", "'t"})
# Titles and degrees around a name in the locales dataward's users live in ('Univ.Prof.', 'Dott.ssa', 'B.A.').
_AFFIXES = frozenset({"mr", "mrs", "ms", "dr", "prof", "jr", "sr", "ii", "iii", "iv", "mba", "md", "phd", "dds",
                      "dvm", "b.sc", "m.sc", "ing", "dipl", "univ.prof", "dipl.-ing", "dipl.-kfm", "dipl.-kff", "b.a",
                      "m.a", "b.eng", "m.eng", "mag", "dr.med", "dr.-ing", "herr", "frau", "sra", "srta", "dña", "don",
                      "doña", "d", "mme", "mlle", "m", "me", "pr", "dott", "dott.ssa", "sig", "sig.ra", "avv", "drs",
                      "ir", "bsc", "msc", "ll.m", "dra", "lic", "eng", "sir", "madame", "monsieur", "señor", "señora"})
_INITIAL = re.compile(r"^[A-Z]\.?$")
# Han, kana and Hangul: scripts without letter case, whose names are one or two short words.
_CJK = re.compile(r"^[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u3005\u30fc]+$")
_PLACE_END = tuple("市区町村県都府道郡島駅店園") + ("会社", "部屋")


def _known(word: str, names: frozenset[str]) -> bool:
    """A name word, or each part of a hyphenated one ('Bárbara-Ema', 'Kain-Dietl'), is in the list."""
    w = word.lower().strip(".")
    return w in names or ("-" in w and any(p in names for p in w.split("-")))


def _cjk_name(value: str, single: bool, strong: bool = False) -> bool:
    """'長沢 まゆみ', 'まゆみ 長沢', '김 민준': two short caseless words, one a known name; unspaced ('長沢まゆみ')
    only under a name column, when a known surname starts it."""
    parts = value.replace("\u3000", " ").split()
    if not all(_CJK.match(p) for p in parts) or value.endswith(_PLACE_END):
        return False
    firsts, lasts = first_names(), last_names()
    if len(parts) == 2 and all(len(p) <= 5 for p in parts):
        return any(p in lasts or p in firsts for p in parts)
    if len(parts) == 1 and strong and len(value) <= 5:
        return True
    if len(parts) == 1 and single and 2 <= len(value) <= 6:
        return any(value[:k] in lasts and len(value) - k <= 4 for k in (1, 2, 3))
    return False


def _person_name(value: str, single: bool, strong: bool = False) -> bool:
    """Two to four capitalised words (case rules of the script), first a known given name or last a known
    surname; Han/kana/Hangul names by their own shape. ``single``: one word may be a name (a name column);
    ``strong``: the column says given name or surname, so any one name-shaped word is."""
    if _CJK.match(value[:1]):
        return _cjk_name(value, single, strong)
    if value.count(",") == 1:  # 'Last, First'
        last, _, first = value.partition(",")
        value = f"{first.strip()} {last.strip()}"
    words = [w for w in value.split() if w.lower().strip(".") not in _AFFIXES]
    if len(words) > 2:
        words = [words[0]] + [w for w in words[1:-1] if w.lower() not in _PARTICLES] + [words[-1]]
    if not words or len(words) > 4 or any("'s" in w.lower() for w in words):
        return False
    if any(not ((_NAME_WORD.match(w) and not w[0].islower()) or _INITIAL.match(w)) for w in words):
        return False
    firsts, lasts = first_names(), last_names()
    if is_room_word(words[0]) or (is_room_word(words[-1]) and not _known(words[0], firsts)):
        return False  # 'Living Room', 'Salon de Marie', 'Sala da Beatriz' are places; 'Giulia Sala' is a person
    if len(words) == 1:
        return single and (_known(words[0], firsts) or _known(words[0], lasts) or strong and not _INITIAL.match(words[0]))
    if _INITIAL.match(words[0]):
        return False
    if _known(words[0], firsts) or (len(words) == 2 and _known(words[-1], lasts)):
        return True
    return len(words) == 3 and _known(words[1], lasts) and _known(words[2], lasts)  # 'Ibán Higueras Valverde'


# Column-name words that say "given name" or "surname" in the locales above: one word is then a whole name.
_GIVEN_OR_SURNAME = frozenset({
    "first", "last", "given", "family", "surname", "fname", "lname", "forename", "middle", "vorname", "nachname",
    "familienname", "prenom", "nom", "nombre", "apellido", "apellidos", "sobrenome", "cognome", "achternaam",
    "voornaam", "sei", "mei", "myoji", "namae",
})


@register_detector
class PersonName(Detector):
    category = "person_name"
    names = (
        "name", "full_name", "fullname", "first_name", "last_name", "given_name", "family_name", "surname",
        "display_name", "contact_name", "owner_name", "customer_name", "fname", "lname", "real_name",
        "vorname", "nachname", "familienname", "nombre", "apellido", "apellidos", "nome", "sobrenome", "cognome",
        "prenom", "nom_de_famille", "voornaam", "achternaam", "shimei", "namae",
    )
    not_names = (
        "user", "file", "host", "model", "product", "device", "table", "column", "nick", "nickname", "ssid",
        "network", "bucket", "topic", "key", "app", "brand", "company", "room", "event", "kind", "type",
    )
    min_rate = 0.6
    hinted_rate = 0.4
    priority = 40

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        strong = hinted and any(t in _GIVEN_OR_SURNAME for t in column.tokens)
        return np.fromiter((_person_name(t, hinted, strong) for t in column.texts), bool, len(column.texts))


@register_detector
class PossessiveName(Detector):
    """A person's given name inside a nickname ('Emma's Nursery', 'Sala da Beatriz', 'ゆいの部屋'): it also
    holds a name.

    Not exclusive: the value still counts as its main category (a device nickname) as well.
    """

    category = "person_name"
    exclusive = False
    alongside = ("device_nickname",)
    min_rate = 0.1
    hinted_rate = 0.1
    priority = 39

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        return np.fromiter((owner(t) is not None for t in column.texts), bool, len(column.texts))


_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9._\-]{2,31}$")
_NOT_USERNAME = re.compile(r"^(?:[0-9a-f]{7,}|[0-9a-fA-F\-]{32,36}|v?\d+(?:\.\d+)+|[A-Z0-9_\-]+)$")


@register_detector
class Username(Detector):
    category = "username"
    names = ("username", "user_name", "login", "handle", "screen_name", "nick_name", "userid", "account_name")
    min_rate = 0.7
    hinted_rate = 0.5
    priority = 10

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        ok = (_handle(t) for t in column.texts)
        return np.fromiter(ok, bool, len(column.texts))

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Without a name, usernames look like handles: mostly distinct, and many carry digits, a '.' or
        '_', or a person's name ('frostkelly')."""
        if hinted:
            return True
        texts = column.texts
        marked = sum(1 for t in texts if re.search(r"[0-9._]", t) or _has_name_part(t)) / max(len(texts), 1)
        capitalised = sum(1 for t in texts if t[:1].isupper()) / max(len(texts), 1)
        return column.distinct >= 0.8 * len(texts) and marked >= 0.5 and capitalised < 0.5


# File extensions and top-level domains: 'south.jpg' and 'web-05.example.org' are not handles.
_SUFFIXES = frozenset(
    ["jpg", "jpeg", "png", "gif", "bmp", "webp", "svg", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "csv", "json", "xml", "html", "htm", "md", "mp3", "mp4", "wav", "avi", "mov", "zip", "gz", "tar", "log", "py", "js", "css", "exe", "dll", "so", "com", "org", "net", "io", "de", "uk", "fr", "es", "it", "nl", "eu", "us", "info", "biz", "co", "app", "dev"]
)


def _handle(value: str) -> bool:
    if not _USERNAME.match(value) or _NOT_USERNAME.match(value) or value.count(".") > 1:
        return False
    return "." not in value or value.rsplit(".", 1)[1].lower() not in _SUFFIXES


def _has_name_part(value: str) -> bool:
    """A known first or last name of 4+ letters inside the handle."""
    letters = re.sub(r"[^a-z]", " ", value.lower())
    names, surnames = first_names(), last_names()
    for word in letters.split():
        for i in range(len(word) - 3):
            for j in range(i + 4, min(len(word), i + 12) + 1):
                part = word[i:j]
                if part in names or part in surnames:
                    return True
    return False


_PAREN_CODE = re.compile(r"^\((3[0-9]{2}|[1-9][0-9]?)\) ?(?=[0-9]{2,4}[ \-]?[0-9]{3})")
# National formats without '+': with a trunk '0' (Europe, Japan, Brazil), without one (NANP, Portugal, Spain).
_TRUNK_REGIONS = ("GB", "DE", "FR", "IT", "NL", "ES", "AT", "CH", "BE", "JP", "BR")
_NATIONAL_REGIONS = ("US", "PT", "ES", "BR")
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|#)\s*[0-9]{1,6}$", re.I)


def _valid_phone(value: str) -> bool:
    """A plausible number per libphonenumber: international with '+' (or 00/011), else NANP, else a
    European trunk-prefixed '0...'. Formatted values need only the right length (new area codes appear
    every year); bare digits must be valid numbers."""
    value = _EXTENSION.sub("", value)
    code = _PAREN_CODE.match(value)
    if code:  # '(351) 919 825 979': a country code written in parentheses
        value = f"+{code.group(1)} {value[code.end():]}"
    if value.startswith(("00", "011")) and not value.startswith("0 "):
        value = "+" + value[3:] if value.startswith("011") else "+" + value[2:]
    if value.startswith("+"):
        regions: tuple[str | None, ...] = (None,)
    else:
        regions = _TRUNK_REGIONS if value.lstrip("(").startswith("0") else _NATIONAL_REGIONS
    formatted = value.startswith("+") or not value.isdigit()
    for region in regions:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        lenient = formatted and region in (None, "US", *_TRUNK_REGIONS[:6])  # new area codes appear every year
        if phonenumbers.is_valid_number(number) or (lenient and phonenumbers.is_possible_number(number)):
            return True
    return False


_EXT = r"(?:[ ]?(?:x|ext\.?|#)[ ]?[0-9]{1,6})?"


@register_detector
class Phone(Detector):
    category = "phone"
    names = ("phone", "phone_number", "mobile", "cell", "telephone", "tel", "msisdn", "contact_number")
    not_names = ("model", "brand", "os", "verified", "at", "confirmed", "country", "type")
    patterns = (
        rf"\+[1-9][0-9 \-().]{{6,18}}[0-9]{_EXT}",  # E.164 and international formats
        rf"(?:00|011)[ \-]?[1-9][0-9 \-().]{{6,18}}[0-9]{_EXT}",  # international access prefix
        r"\((?:3[0-9]{2}|[1-9][0-9]?)\) ?[0-9]{2,4}[ \-]?[0-9]{3}[ \-]?[0-9]{3,4}",  # '(351) 919 825 979'
        r"[1-9][0-9]{1,2}[ \-][0-9]{4,5}-[0-9]{4}",  # Brazil 'DD 9825-9791', Japan '62-3286-0129'
        r"[2-9][0-9]{2} [0-9]{3} [0-9]{3}",  # Portugal, Spain: nine digits, no trunk prefix
        rf"(?:1[ .\-])?(?:\([2-9][0-9]{{2}}\) ?|[2-9][0-9]{{2}}[ .\-])[0-9]{{3}}[ .\-][0-9]{{4}}{_EXT}",  # NANP
        r"0[0-9]{2,4}[ \-][0-9]{3,4}[ \-]?[0-9]{3,4}",  # European national with a trunk prefix
    )
    hinted_patterns = (r"[0-9]{9,15}",)  # bare digits only when the name says phone
    strong = True
    min_rate = 0.3
    hinted_rate = 0.3
    priority = 60
    # ref: ITU-T E.164; numbering plans from libphonenumber metadata (phonenumbers)

    def validate(self, value: str) -> bool:
        return _valid_phone(value)


@register_detector
class PhoneInText(Detector):
    """A phone number inside free text ('Call Emma on +1 415 555 0001 after six'): the free_text finding only."""

    category = "phone"
    patterns = (
        r"(\+[1-9][0-9 \-().]{6,18}[0-9])(?:[^0-9]|$)",  # international, with '+'
        r"(?:^|[^0-9+])((?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .\-])[0-9]{3}[ .\-][0-9]{4})(?:[^0-9]|$)",  # NANP
    )
    embedded = True
    text_only = True
    exclusive = False

    def candidates(self, source: str, text: str) -> Iterable[str]:
        return (m.group(1) for m in re.finditer(source, text))

    def validate(self, value: str) -> bool:
        return _valid_phone(value)


# Byte-level name candidates (Hyperscan scans UTF-8 bytes): a capital, ASCII or Latin-1/Latin Extended-A
# ('Émilie', 'Øyvind'), then lower-case letters or such two-byte letters ('Jürgen Müller', 'Zoë').
_NAME_UPPER = r"(?:[A-Z]|[\xC3-\xC5][\x80-\xBF])"
_NAME_LOWER = r"(?:[a-z]|[\xC3-\xC5][\x80-\xBF])+"
_TEXT_WORD = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*")


@register_detector
class NameInText(Detector):
    """A person's name inside free text ('ring Emma Johnson before delivery', '"contact": "Emma Johnson"'):
    two or three adjacent capitalised words that the name lists know. The free_text finding only."""

    category = "person_name"
    # ends on a byte that cannot continue a lower-case letter (or the value's end): one report per name,
    # not one per letter (Hyperscan reports every end offset, and each report is a Python callback)
    patterns = (f"{_NAME_UPPER}{_NAME_LOWER}[ ]+{_NAME_UPPER}{_NAME_LOWER}(?:[^a-z\\xC3-\\xC5]|\\z)",)
    embedded = True
    text_only = True
    exclusive = False

    def candidates(self, source: str, text: str) -> Iterable[str]:
        words = [(m.start(), m.end(), m.group(0)) for m in _TEXT_WORD.finditer(text)]
        for i in range(len(words) - 1):
            run = [words[i][2]]
            for j in (i + 1, i + 2):
                if j >= len(words) or text[words[j - 1][1] : words[j][0]].strip(" ") or not words[j][0] - words[j - 1][1]:
                    break
                run.append(words[j][2])
                if all(w[:1].isupper() for w in run):
                    yield " ".join(run)

    def validate(self, value: str) -> bool:
        return _person_name(value, single=False)


# USPS Publication 28 street suffixes (common ones) plus British/European forms
_STREET = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|"
    r"parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|crescent|close|alley|aly|bend|bluff|bluffs|"
    r"bridge|brook|brooks|burg|burgs|bypass|camp|canyon|cape|causeway|center|centers|cliff|cliffs|club|"
    r"common|commons|corner|corners|course|courts|cove|coves|creek|crest|crossing|crossroad|curve|dale|dam|"
    r"divide|drives|estate|estates|expressway|extension|extensions|falls|ferry|field|fields|flat|flats|"
    r"ford|fords|forest|forge|forges|fork|forks|fort|freeway|garden|gardens|gateway|glen|glens|green|"
    r"greens|grove|groves|harbor|harbors|haven|heights|hill|hills|hollow|inlet|island|islands|isle|"
    r"junction|junctions|key|keys|knoll|knolls|lake|lakes|landing|light|lights|loaf|lock|locks|lodge|loop|"
    r"mall|manor|manors|meadow|meadows|mews|mill|mills|mission|motorway|mount|mountain|mountains|neck|"
    r"orchard|oval|overpass|park|parks|parkways|pass|passage|path|pike|pine|pines|plain|plains|plaza|"
    r"point|points|port|ports|prairie|radial|ramp|ranch|rapid|rapids|rest|ridge|ridges|river|roads|route|"
    r"row|rue|run|shoal|shoals|shore|shores|skyway|spring|springs|spur|spurs|squares|station|stravenue|"
    r"stream|streets|summit|throughway|trace|track|trafficway|trailer|tunnel|turnpike|underpass|union|"
    r"unions|valley|valleys|via|viaduct|view|views|village|villages|ville|vista|walk|walks|wall|ways|well|"
    r"wells"
)
_EU_SUFFIX = (
    "stra\u00dfe|strasse|str\\.|weg|gasse|platz|allee|ring|damm|ufer|pfad|steig|chaussee|steeg|straat|laan|"
    "plein|pad|hof|singel|kade|gracht|dijk|vej|gade|gatan|v\u00e4gen|vagen|veien"
)
_FR_WAYS = "rue|avenue|av\\.|boulevard|bd|chemin|all\u00e9e|allee|impasse|place|quai|route|cours|square|voie"
_SOUTH_WAYS = (
    "calle|c\\.|avenida|av\\.|paseo|pasaje|pasadizo|camino|carrer|plaza|ronda|v\u00eda|via|vial|alameda|glorieta|"
    "traves\u00eda|travesia|callej\u00f3n|cuesta|rambla|acceso|viale|piazza|piazzale|vicolo|corso|largo|strada|"
    "incrocio|rotonda|stretto|borgo|contrada|vico|canale|rua|travessa|avenida|"
    # Mexico and Brazil: 'Retorno Yucatán 919', 'Conjunto de Freitas, 279', 'Área de da Rosa, 5'
    "cerrada|privada|andador|circuito|circunvalaci\u00f3n|callej\u00f3n|corredor|diagonal|eje vial|perif\u00e9rico|"
    "prolongaci\u00f3n|retorno|continuaci\u00f3n|peatonal|ampliaci\u00f3n|boulevard|calzada|viaducto|"
    "pra\u00e7a|estrada|rodovia|ladeira|vila|quadra|conjunto|jardim|setor|parque|residencial|loteamento|"
    "ch\u00e1cara|condom\u00ednio|lagoa|lago|vereda|viela|passarela|p\u00e1tio|fazenda|favela|distrito|"
    "campo|col\u00f4nia|esta\u00e7\u00e3o|feira|morro|n\u00facleo|recanto|s\u00edtio|trecho|trevo|vale|"
    "\u00e1rea|aeroporto|esplanada|margem"
)
_UPPER = "(?:[A-Z]|\u00c1|\u00c9|\u00cd|\u00d3|\u00da|\u00c2|\u00ca|\u00d4|\u00c0|\u00c7)"  # Hyperscan: no \\u
_JP_DIGIT = "(?:[0-9]|\uff10|\uff11|\uff12|\uff13|\uff14|\uff15|\uff16|\uff17|\uff18|\uff19)"
_UNIT = r"(?:apt\.?|apartment|suite|ste\.?|unit|#) ?[0-9A-Z]{1,6}"


@register_detector
class PostalAddress(Detector):
    category = "postal_address"
    names = (
        "address", "street", "address_line1", "address_line_1", "addr", "shipping_address", "billing_address",
        "postal_address", "home_address", "mailing_address", "street_address",
    )
    not_names = ("email", "ip", "mac", "wallet", "url", "web", "server", "bind", "remote", "local")
    patterns = (
        # US / UK: '804 Javier Port', '20686 Taylor Street Apt. 630', 'City, ST 12345'
        rf"(?i)\b[0-9]{{1,6}}[A-Za-z]? (?:[^\s,]+ ){{1,4}}(?:{_STREET})\.?(?:,? {_UNIT})?\b",
        r"\b[A-Z][A-Za-z .'\-]{1,30}, [A-Z]{2} [0-9]{5}(?:-[0-9]{4})?\b",
        # German, Dutch, Nordic: 'Lukasring 7', 'Hauptstraße 5', 'Dehmelgasse 98-30', 'Roosstraat 283'
        rf"(?i)[^\s,0-9]{{2,}}(?:{_EU_SUFFIX}) [0-9]{{1,5}}[a-z]?(?:[-/][0-9]{{1,4}})?(?:[^0-9A-Za-z]|$)",
        # French: '64, boulevard Gabrielle Faure'
        rf"\b[0-9]{{1,4}}(?: ?(?:bis|ter))?,? (?i:{_FR_WAYS}) [^\s,0-9]",
        # Spanish, Italian, Portuguese: 'Paseo de Omar Viña 7', 'Viale Federigo, 41'
        rf"(?:^|[^A-Za-z])(?i:{_SOUTH_WAYS}) (?:(?:de|del|di|da|do|dos|das|la) )*{_UPPER}[^,\n]{{1,40}},? [0-9]{{1,4}}(?:[^0-9]|$)",
        # Japanese: '油井24丁目20番16号', '丸の内1-2-3', '〒100-0005'
        _JP_DIGIT + "{1,4}\u4e01\u76ee" + _JP_DIGIT + "{1,4}\u756a",
        "\u3012 ?[0-9]{3}-[0-9]{4}",
        "(?:\u5e02|\u533a|\u753a|\u6751)" + r"[^\s,0-9]{1,24}[0-9]{1,4}-[0-9]{1,4}(?:-[0-9]{1,4})?",
        # postal code with a city: '46756 Hannoversch Münden', '4601 TV, Grolloo', '13017, Quarona (VC)'
        r", [0-9]{4,5}(?: ?[A-Z]{2})?,? [A-Z][^\s,0-9]+",
    )
    embedded = True
    min_rate = 0.3
    hinted_rate = 0.2
    priority = 55


_DATE = re.compile(r"^((?:19|20)[0-9]{2})-[01][0-9]-[0-3][0-9]|^[01]?[0-9]/[0-3]?[0-9]/((?:19|20)[0-9]{2})$")


def _years(texts: tuple[str, ...]) -> np.ndarray:
    """The year of each ISO or US-style date (0 where the text is not a date)."""
    out = np.zeros(len(texts), dtype=np.int32)
    for i, text in enumerate(texts):
        m = _DATE.match(text)
        if m:
            out[i] = int(m.group(1) or m.group(2))
    return out


@register_detector
class DateOfBirth(Detector):
    category = "date_of_birth"
    names = ("dob", "birth", "birthday", "birthdate", "date_of_birth", "born", "birth_date", "bday")
    min_rate = 0.9
    hinted_rate = 0.5
    priority = 45

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        years = _years(column.texts)
        return (years >= 1900) & (years <= 2026)

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Unnamed dates are birth dates only when they spread over decades around an adult median
        (event dates cluster in recent years)."""
        if hinted:
            return True
        years = _years(column.texts)
        years = years[years > 0]
        return len(years) > 0 and float(np.std(years)) >= 8.0 and 1935 <= float(np.median(years)) <= 2008


@register_detector
class PhotoUrl(Detector):
    category = "photo_url"
    names = (
        "photo", "avatar", "picture", "profile_photo", "profile_photo_url", "image_url", "profile_image",
        "headshot", "pic", "photo_url", "avatar_url", "selfie",
    )
    patterns = (
        r"(?i)https?://[^\s\"'<>]+\.(?:jpe?g|png|gif|webp|heic|bmp)(?:\?[^\s\"'<>]*)?",
        r"(?i)https?://[^\s\"'<>]*(?:avatar|photo|profile[_\-]?(?:pic|image|img)|gravatar|picture|headshot)[^\s\"'<>]*",
        r"(?i)https?://(?:[a-z0-9\-]+\.)*(?:picsum\.photos|dummyimage\.com|placehold\.co|placekitten\.com|"
        r"imgur\.com|cloudinary\.com|googleusercontent\.com|fbcdn\.net|twimg\.com|gravatar\.com)/[^\s\"'<>]*",
    )
    hinted_patterns = (r"https?://[^\s\"'<>]+",)
    min_rate = 0.5
    hinted_rate = 0.3
    priority = 55
