"""Devices of makers the reference cloud does not make (issue 12): model codes and firmware strings.

Hand-written fixtures, kept apart from the detectors' data on purpose: these are concrete products as their
makers list them (API device kinds, model numbers on boxes and regulatory labels, names in apps) and firmware
strings as the makers' apps print them; classify/data/device_models.tsv holds shapes, never this file's values.
Each vendor's devices form one table, once with real column names and once renamed c0, c1: renamed firmware
keeps its label only where the shape is firmware's own (a build number with 'Build'/'Rel.', a build date);
bare version strings need their name.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from dataward.stores.base import SampledColumn, SampledObject

if TYPE_CHECKING:
    from .dataset import Labelled

ROWS = 200

Firmware = Callable[[random.Random], str]


def _dotted(*parts: tuple[int, int]) -> Firmware:
    return lambda r: ".".join(str(r.randint(lo, hi)) for lo, hi in parts)


def _tplink(r: random.Random) -> str:
    return f"1.{r.randint(0, 3)}.{r.randint(0, 20)} Build {r.randint(21, 24)}{r.randint(1, 12):02d}{r.randint(1, 28):02d} Rel.{r.randint(10000, 99999)}n"


def _kasa(r: random.Random) -> str:
    return f"1.0.{r.randint(1, 20)} Build {r.randint(19, 23)}0{r.randint(1, 9)}{r.randint(10, 28)} Rel.{r.randint(100000, 199999)}"


def _reolink(r: random.Random) -> str:
    return f"v3.{r.randint(0, 1)}.0.{r.randint(100, 3999)}_{r.randint(21, 24)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 99):02d}"


def _shelly(r: random.Random) -> str:
    sha = "".join(r.choices("0123456789abcdef", k=7))
    return f"2023{r.randint(1, 12):02d}{r.randint(1, 28):02d}-{r.randint(0, 235959):06d}/v1.{r.randint(9, 14)}.{r.randint(0, 4)}-g{sha}"


def _hikvision(r: random.Random) -> str:
    return f"V5.{r.randint(4, 7)}.{r.randint(0, 20)} build {r.randint(19, 24)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"


def _arlo(r: random.Random) -> str:
    sha = "".join(r.choices("0123456789abcdef", k=7))
    return f"1.{r.randint(80, 130):03d}.{r.randint(0, 30)}.0_{r.randint(1, 40)}_{sha}"


def _xiaomi(r: random.Random) -> str:
    return f"{r.randint(3, 4)}.{r.randint(0, 9)}.{r.randint(0, 9)}_{r.randint(1, 999):04d}"


def _nest(r: random.Random) -> str:
    return f"{r.randint(5, 6)}.{r.randint(0, 3)}-{r.randint(1, 12)}"


# vendor -> (models as they appear in device tables, firmware maker, firmware shape is firmware's own)
VENDORS: dict[str, tuple[tuple[str, ...], Firmware, bool]] = {
    "Ring": (("doorbell_v3", "doorbell_scallop", "lpd_v2", "lpd_v4", "stickup_cam_v4", "hp_cam_v2",
              "cocoa_camera", "doorbell_oyster", "floodlight_v2", "Ring Video Doorbell 4",
              "Ring Stick Up Cam Battery", "Ring Indoor Cam (2nd Gen)"), _dotted((1, 3), (0, 60), (1, 999)), False),
    "Arlo": (("VMC4040P", "VMC5040", "VMC2030", "VMC3040", "AVD1001", "AVD2001", "FB1001", "VMC4041P-100NAS",
              "VMB4540", "Arlo Pro 4", "Arlo Essential Indoor"), _arlo, False),
    "Eufy": (("T8113", "T8114", "T8210", "T8200", "T8400", "T8410", "T8416", "T8222", "T8010", "T8520",
              "eufyCam 2C", "eufy Video Doorbell 2K"), _dotted((1, 3), (0, 9), (0, 9), (0, 9)), False),
    "Eufy scales": (("T9140", "T9146", "T9147", "T9148", "T9149", "T9120"), _dotted((1, 2), (0, 9), (0, 40)), False),
    "TP-Link Tapo": (("Tapo C200", "Tapo C210", "Tapo C310", "Tapo C100", "Tapo P100", "Tapo P110", "Tapo D230",
                      "C200(EU) 1.0", "C210(US) 2.0", "Tapo L530"), _tplink, True),
    "TP-Link Kasa": (("HS100(US)", "HS103", "HS105", "HS110", "KP115", "KP125", "EP10", "EP25", "KC105",
                      "KD110", "KL130", "HS220(US) v2.0"), _kasa, True),
    "Google Nest": (("Nest Cam IQ Outdoor", "Nest Cam (battery)", "Nest Doorbell (wired)", "Nest Learning Thermostat",
                     "Nest Thermostat E", "Google Nest Cam (indoor, wired)", "NC1102ES", "T3007ES", "GA01317-US",
                     "Nest Protect"), _nest, False),
    "Xiaomi": (("MJSXJ02CM", "MJSXJ05CM", "MJSXJ09CM", "CMSXJ25A", "XMTZC04HM", "XMTZC05HM", "ZNCZ04LM",
                "chuangmi.camera.ipc019", "isa.camera.hlc7", "lumi.sensor_magnet.aq2", "LYWSD03MMC"), _xiaomi, False),
    "Reolink": (("RLC-410", "RLC-510A", "RLC-810A", "RLC-820A", "RLC-1224A", "RLN8-410", "Reolink Argus 3 Pro",
                 "Argus PT", "E1 Zoom", "Reolink Video Doorbell"), _reolink, True),
    "Blink": (("BCM00300U", "BCM00200U", "BCM00400U", "Blink Mini", "Blink Outdoor 4", "Blink Video Doorbell",
               "Blink XT2", "BSM00203U"), _dotted((2, 10), (1, 200)), False),
    "Withings": (("WBS05", "WBS04", "WBS06", "WBS08", "WBS12", "WPM05", "Body+", "Body Cardio",
                  "Withings Body Scan"), lambda r: str(r.randint(1000, 2400)), False),
    "Ecobee": (("EB-STATE3LT-01", "EB-STATE5-01", "EB-STATE6-01", "EB-STATE6L-01", "EB-RSHM2PK-01",
                "ecobee3 lite", "ecobee SmartThermostat", "ecobee Smart Camera"), _dotted((4, 4), (2, 9), (0, 9), (1, 300)), False),
    "August/Yale": (("ASL-03", "ASL-05", "AUG-SL05-M01-S01", "AUG-CONNECT", "AC-R1", "YRD256-ZW2-619", "YRD226",
                     "YRD446-WF1-BSP", "Yale Assure Lock 2", "August Wi-Fi Smart Lock"), _dotted((1, 2), (0, 9), (0, 30)), False),
    "Philips Hue": (("LCT015", "LCA001", "LCT012", "LWB010", "LTW012", "BSB002", "SML001", "RWL021", "LOM001"),
                    _dotted((1, 1), (50, 120), (0, 9)), False),
    "Shelly": (("SHSW-1", "SHSW-25", "SHPLG-S", "SHDW-2", "SHHT-1", "SNSW-001X16EU", "SNPL-00112EU"), _shelly, True),
    "Hikvision/EZVIZ": (("DS-2CD2143G0-I", "DS-2CD2043G2-I", "DS-KD8003-IME1", "CS-C6N", "CS-CV310", "CS-DB1C",
                         "DS-2DE2A404IW-DE3"), _hikvision, True),
}


def _table(vendor: str, seed: int, renamed: bool) -> Labelled:
    from .dataset import Labelled

    models, firmware, own_shape = VENDORS[vendor]
    r = random.Random(f"{vendor}-{seed}")
    model_values = pa.array([r.choice(models) for _ in range(ROWS)])
    fw_values = pa.array([firmware(r) for _ in range(ROWS)])
    names = ("c0", "c1") if renamed else ("model", "firmware_version")
    fw_label = frozenset({"firmware_version"}) if own_shape or not renamed else frozenset()
    slug = vendor.lower().replace(" ", "_").replace("/", "_")
    obj = SampledObject("eval://vendors", "eval", f"devices_{slug}_{seed}" + ("_x" if renamed else ""),
                        (SampledColumn(names[0], model_values), SampledColumn(names[1], fw_values)), ROWS)
    return Labelled("vendors", obj, {names[0]: frozenset({"device_model"}), names[1]: fw_label}, f"vendor:{vendor}")


def objects(seed: int) -> Iterator[Labelled]:
    for vendor in VENDORS:
        for renamed in (False, True):
            yield _table(vendor, seed, renamed)
