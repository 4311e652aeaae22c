"""The value pools of the reference device cloud: names, places, models, OUIs, regions.

Plain constants (tuples and frozen mappings) so detectors and tests may import them: ``CAMERA_OUIS`` is the
list of MAC prefixes every generated device MAC starts with.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# fmt: off

# MAC address prefixes (IEEE OUIs) of smart-camera makers: Wyze Labs' own blocks and the Xiaomi/Chuangmi and
# Hualai blocks that made early Wyze cameras (ref: IEEE MA-L registry entries for these vendors).
CAMERA_OUIS: Final[tuple[str, ...]] = (
    "2C:AA:8E",  # Wyze Labs
    "7C:78:B2",  # Wyze Labs
    "D0:3F:27",  # Wyze Labs
    "80:48:2C",  # Wyze Labs
    "A4:DA:22",  # Hualai (Wyze OEM)
    "78:11:DC",  # Xiaomi (Chuangmi cameras)
    "34:CE:00",  # Xiaomi
)

# model code -> (marketing name, firmware versions oldest to newest, base failure probability per attempt)
MODELS: Final[MappingProxyType[str, tuple[str, tuple[str, ...], float]]] = MappingProxyType(
    {
        "WYZE_CAKP2JFUS": ("Wyze Cam v2", ("4.9.6.199", "4.9.8.1002", "4.9.9.3006"), 0.045),
        "WYZEC3": ("Wyze Cam v3", ("4.36.9.139", "4.36.10.4054", "4.36.11.5859"), 0.025),
        "WYZECP1_JEF": ("Wyze Cam Pan", ("4.10.8.1002", "4.10.9.1851"), 0.05),
        "WYZECP2": ("Wyze Cam Pan v2", ("4.49.1.47", "4.49.3.81"), 0.03),
        "WYZEDB3": ("Wyze Video Doorbell", ("4.25.1.316", "4.25.2.42"), 0.07),
        "WVOD1": ("Wyze Cam Outdoor", ("4.17.2.61", "4.17.4.19"), 0.09),
        "HL_CAM4": ("Wyze Cam v4", ("4.52.3.8", "4.52.5.111"), 0.02),
        "WYZEC1": ("Wyze Cam v1", ("3.9.4.153",), 0.11),
    }
)
MODEL_WEIGHTS: Final[tuple[float, ...]] = (0.34, 0.22, 0.13, 0.07, 0.08, 0.07, 0.04, 0.05)
# older firmware fails more often: multiplier on the model's base failure probability by firmware age
# (0 = the model's newest version, 1 = the one before, 2 = the oldest)
FIRMWARE_FAILURE_FACTOR: Final[tuple[float, ...]] = (1.0, 1.25, 1.7)

ERROR_CODES: Final[tuple[str, ...]] = ("E1001", "E1002", "E1004", "E1007", "E1011", "E1020")
ERROR_MEANINGS: Final[MappingProxyType[str, str]] = MappingProxyType(
    {
        "E1001": "WiFi authentication failed",
        "E1002": "DHCP timeout",
        "E1004": "cloud endpoint unreachable",
        "E1007": "TLS handshake failed",
        "E1011": "signal too weak",
        "E1020": "device token expired",
    }
)
ERROR_WEIGHTS: Final[tuple[float, ...]] = (0.14, 0.12, 0.33, 0.08, 0.25, 0.08)

FIRST_NAMES: Final[tuple[str, ...]] = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "William", "Mia",
    "Benjamin", "Charlotte", "Lucas", "Amelia", "Henry", "Harper", "Alexander", "Evelyn", "Mason", "Abigail",
    "Michael", "Emily", "Ethan", "Elizabeth", "Daniel", "Sofia", "Jacob", "Avery", "Logan", "Ella", "Jackson",
    "Madison", "Levi", "Scarlett", "Sebastian", "Victoria", "Mateo", "Aria", "Jack", "Grace", "Owen", "Chloe",
    "Theodore", "Camila", "Aiden", "Penelope", "Samuel", "Riley", "Joseph", "Layla", "John", "Lillian", "David",
    "Nora", "Wyatt", "Zoey", "Matthew", "Mila", "Luke", "Aubrey", "Asher", "Hannah", "Carter", "Lily", "Julian",
    "Addison", "Grayson", "Eleanor", "Leo", "Natalie", "Jayden", "Luna", "Gabriel", "Savannah", "Isaac",
    "Brooklyn", "Lincoln", "Leah", "Anthony", "Zoe", "Hudson", "Stella", "Dylan", "Hazel", "Ezra", "Ellie",
    "Thomas", "Paisley", "Charles", "Audrey", "Christopher", "Skylar", "Jaxon", "Violet", "Maverick", "Claire",
    "Josiah", "Bella", "Isaiah", "Aurora", "Andrew", "Lucy", "Elias", "Anna", "Joshua", "Samantha", "Nathan",
    "Caroline", "Caleb", "Genesis", "Ryan", "Aaliyah", "Adrian", "Kennedy", "Miles", "Kinsley", "Eli", "Allison",
    "Nolan", "Maya", "Christian", "Sarah", "Aaron", "Madelyn", "Cameron", "Adeline", "Ezekiel", "Alexa",
    "Colton", "Ariana", "Luca", "Elena", "Landon", "Gabriella", "Hunter", "Naomi", "Jonathan", "Alice",
    "Santiago", "Sadie", "Axel", "Hailey", "Easton", "Eva", "Cooper", "Emilia", "Jeremiah", "Autumn", "Angel",
    "Quinn", "Roman", "Nevaeh", "Connor", "Piper", "Jameson", "Ruby", "Robert", "Serenity", "Greyson", "Willow",
    "Jordan", "Everly", "Ian", "Cora", "Carson", "Kaylee", "Jaxson", "Lydia", "Leonardo", "Aubree", "Nicholas",
    "Arianna", "Dominic", "Eliana", "Austin", "Peyton", "Everett", "Melanie", "Brooks", "Gianna", "Xavier",
    "Isabelle", "Kai", "Julia", "Jose", "Valentina", "Parker", "Clara", "Adam", "Vivian", "Jace", "Reagan",
    "Wesley", "Mackenzie", "Kayden", "Madeline", "Silas", "Lukas", "Hanna", "Felix", "Mathilde", "Jonas",
    "Lea", "Louis", "Giulia", "Marco", "Lucia", "Pablo", "Sanne", "Daan", "Siobhan", "Sean", "Astrid", "Erik",
    "Priya", "Arjun", "Mei", "Wei", "Yuki", "Hiroshi", "Fatima", "Omar", "Maria", "Juan", "Carmen", "Diego",
)

LAST_NAMES: Final[tuple[str, ...]] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips",
    "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
    "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly",
    "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James",
    "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers",
    "Long", "Ross", "Foster", "Jimenez", "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman",
    "Butler", "Henderson", "Barnes", "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson",
    "Alexander", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes",
    "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro",
    "Marshall", "Owens", "Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells",
    "Vargas", "Henry", "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson",
    "Porter", "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt",
    "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox",
    "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens", "Soto",
    "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins", "Arnold", "Pierce",
    "Muller", "Schneider", "Fischer", "Weber", "Dubois", "Lefebvre", "Moreau", "Rossi", "Russo", "Ferrari",
    "Bianchi", "Jansen", "DeVries", "Bakker", "OBrien", "Byrne", "Andersson", "Johansson", "Larsson", "Wang",
    "Li", "Zhang", "Liu", "Yamamoto", "Tanaka", "Sato", "Singh", "Kumar", "Shah", "Khan", "Ali", "Novak",
)

# Rooms and places for camera nicknames without a person's name
ROOMS: Final[tuple[str, ...]] = (
    "Back Yard", "Front Door", "Living Room", "Kitchen", "Garage", "Driveway", "Front Porch", "Basement",
    "Nursery", "Baby Cam", "Dog Cam", "Cat Cam", "Side Gate", "Hallway", "Office", "Patio", "Shed", "Mudroom",
    "Stairs", "Back Door", "Pool", "Barn", "Chicken Coop", "Den", "Family Room", "Dining Room", "Front Yard",
    "Workshop", "Upstairs", "Laundry Room", "Bird Feeder", "Mailbox", "Gate", "Deck", "Entryway",
)
# Rooms that follow a possessive person name: "Emma's Nursery"
PERSON_ROOMS: Final[tuple[str, ...]] = (
    "Nursery", "Room", "Bedroom", "Office", "Crib", "Playroom", "Desk", "Closet", "Corner", "Cam",
)
# Relatives who own a room: "Grandma's Kitchen"
RELATIVES: Final[tuple[str, ...]] = ("Grandma", "Grandpa", "Mom", "Dad", "Nana", "Papa", "Aunt Sue", "Uncle Bob")
RELATIVE_ROOMS: Final[tuple[str, ...]] = ("Kitchen", "House", "Garage", "Porch", "Living Room", "Room", "Backyard")

# WiFi router brand prefixes for default-style SSIDs ("NETGEAR47", "Linksys03921", "TP-Link_5G_A1B2")
SSID_BRANDS: Final[tuple[str, ...]] = ("NETGEAR", "Linksys", "TP-Link_", "ATT", "MySpectrumWiFi", "CenturyLink", "FiOS-", "HOME-", "ASUS_", "xfinity-")

EMAIL_DOMAINS: Final[tuple[str, ...]] = (
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "comcast.net", "msn.com",
    "live.com", "me.com", "att.net", "verizon.net", "sbcglobal.net", "cox.net", "charter.net", "protonmail.com",
    "ymail.com", "mac.com", "bellsouth.net", "earthlink.net", "gmx.de", "web.de", "t-online.de", "orange.fr",
    "free.fr", "laposte.net", "libero.it", "virgilio.it", "ziggo.nl", "telfort.nl", "eircom.net", "telia.com",
    "btinternet.com", "sky.com", "shaw.ca", "rogers.com", "yahoo.co.uk", "hotmail.co.uk", "wp.pl", "seznam.cz",
)
EMAIL_DOMAIN_WEIGHTS: Final[tuple[float, ...]] = (
    0.40, 0.11, 0.07, 0.05, 0.05, 0.03, 0.025, 0.012, 0.012, 0.01, 0.012, 0.008, 0.01, 0.008, 0.006, 0.008,
    0.004, 0.004, 0.006, 0.003, 0.012, 0.01, 0.006, 0.01, 0.006, 0.003, 0.006, 0.003, 0.004, 0.002, 0.002,
    0.003, 0.006, 0.004, 0.004, 0.004, 0.004, 0.004, 0.002, 0.002,
)
# words for the long tail of small private domains ("millerfamily.net")
DOMAIN_WORDS: Final[tuple[str, ...]] = ("family", "home", "house", "mail", "net", "online", "web", "inbox")
DOMAIN_TLDS: Final[tuple[str, ...]] = (".com", ".net", ".org", ".us", ".me", ".io")

# country (ISO 3166-1 alpha-2) -> (share of users, E.164 prefix, subscriber digits, regions (ISO 3166-2), tz)
COUNTRIES: Final[MappingProxyType[str, tuple[float, str, int, tuple[str, ...], str]]] = MappingProxyType(
    {
        "US": (0.855, "+1", 10, (), "America/New_York"),
        "CA": (0.035, "+1", 10, ("CA-ON", "CA-QC", "CA-BC", "CA-AB"), "America/Toronto"),
        "GB": (0.02, "+447", 9, ("GB-ENG", "GB-SCT", "GB-WLS", "GB-NIR"), "Europe/London"),
        "DE": (0.02, "+491", 10, ("DE-BY", "DE-BE", "DE-NW", "DE-HH", "DE-BW"), "Europe/Berlin"),
        "FR": (0.015, "+336", 8, ("FR-IDF", "FR-ARA", "FR-PAC", "FR-OCC"), "Europe/Paris"),
        "IT": (0.01, "+393", 9, ("IT-25", "IT-62", "IT-21"), "Europe/Rome"),
        "ES": (0.01, "+346", 8, ("ES-MD", "ES-CT", "ES-AN"), "Europe/Madrid"),
        "NL": (0.01, "+316", 8, ("NL-NH", "NL-ZH", "NL-UT"), "Europe/Amsterdam"),
        "IE": (0.005, "+3538", 8, ("IE-D", "IE-CO", "IE-G"), "Europe/Dublin"),
        "SE": (0.005, "+467", 8, ("SE-AB", "SE-O", "SE-M"), "Europe/Stockholm"),
        "MX": (0.01, "+52", 10, ("MX-CMX", "MX-JAL", "MX-NLE"), "America/Mexico_City"),
        "AU": (0.005, "+614", 8, ("AU-NSW", "AU-VIC", "AU-QLD"), "Australia/Sydney"),
    }
)
# US state (ISO 3166-2) -> (share of US users, IANA time zone)
US_STATES: Final[MappingProxyType[str, tuple[float, str]]] = MappingProxyType(
    {
        "US-CA": (0.12, "America/Los_Angeles"), "US-TX": (0.088, "America/Chicago"),
        "US-FL": (0.065, "America/New_York"), "US-NY": (0.059, "America/New_York"),
        "US-PA": (0.039, "America/New_York"), "US-IL": (0.038, "America/Chicago"),
        "US-OH": (0.035, "America/New_York"), "US-GA": (0.032, "America/New_York"),
        "US-NC": (0.032, "America/New_York"), "US-MI": (0.030, "America/Detroit"),
        "US-NJ": (0.028, "America/New_York"), "US-VA": (0.026, "America/New_York"),
        "US-WA": (0.030, "America/Los_Angeles"), "US-AZ": (0.022, "America/Phoenix"),
        "US-MA": (0.021, "America/New_York"), "US-TN": (0.021, "America/Chicago"),
        "US-IN": (0.020, "America/Indiana/Indianapolis"), "US-MO": (0.019, "America/Chicago"),
        "US-MD": (0.019, "America/New_York"), "US-WI": (0.018, "America/Chicago"),
        "US-CO": (0.018, "America/Denver"), "US-MN": (0.017, "America/Chicago"),
        "US-SC": (0.016, "America/New_York"), "US-AL": (0.015, "America/Chicago"),
        "US-LA": (0.014, "America/Chicago"), "US-KY": (0.014, "America/New_York"),
        "US-OR": (0.014, "America/Los_Angeles"), "US-OK": (0.012, "America/Chicago"),
        "US-CT": (0.011, "America/New_York"), "US-UT": (0.010, "America/Denver"),
        "US-IA": (0.010, "America/Chicago"), "US-NV": (0.010, "America/Los_Angeles"),
        "US-AR": (0.009, "America/Chicago"), "US-MS": (0.009, "America/Chicago"),
        "US-KS": (0.009, "America/Chicago"), "US-NM": (0.006, "America/Denver"),
        "US-NE": (0.006, "America/Chicago"), "US-ID": (0.006, "America/Boise"),
        "US-WV": (0.005, "America/New_York"), "US-HI": (0.004, "Pacific/Honolulu"),
        "US-NH": (0.004, "America/New_York"), "US-ME": (0.004, "America/New_York"),
        "US-MT": (0.003, "America/Denver"), "US-RI": (0.003, "America/New_York"),
        "US-DE": (0.003, "America/New_York"), "US-SD": (0.003, "America/Chicago"),
        "US-ND": (0.002, "America/Chicago"), "US-AK": (0.002, "America/Anchorage"),
        "US-DC": (0.002, "America/New_York"), "US-VT": (0.002, "America/New_York"),
        "US-WY": (0.002, "America/Denver"),
    }
)

# First octets of consumer ISP address blocks, for the homes' public IPv4 addresses
PUBLIC_FIRST_OCTETS: Final[tuple[int, ...]] = (
    24, 50, 67, 68, 69, 70, 71, 73, 75, 76, 96, 97, 98, 99, 107, 108, 173, 174, 184, 47, 66, 72,
    77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
)
# fmt: on
