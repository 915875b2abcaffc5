"""The machine a benchmark ran on, as its results record it."""
from __future__ import annotations

import platform

# (vendor, family, first model, last model) -> core name, for the CPUs this project's
# machines have come with and their neighbours; family and model as /proc/cpuinfo gives
# them (AMD: family 25 is 19h; Intel: family 6 model numbers from Intel's SDM).
_MICROARCHITECTURES = (
    ("AuthenticAMD", 23, 0, 0x2F, "Zen / Zen+"),
    ("AuthenticAMD", 23, 0x30, 0xFF, "Zen 2"),
    ("AuthenticAMD", 25, 0x00, 0x0F, "Zen 3"),
    ("AuthenticAMD", 25, 0x10, 0x1F, "Zen 4"),
    ("AuthenticAMD", 25, 0x20, 0x5F, "Zen 3"),
    ("AuthenticAMD", 25, 0x60, 0xAF, "Zen 4"),
    ("AuthenticAMD", 26, 0x00, 0xFF, "Zen 5"),
    ("GenuineIntel", 6, 0x55, 0x55, "Skylake-SP / Cascade Lake"),
    ("GenuineIntel", 6, 0x6A, 0x6C, "Ice Lake-SP"),
    ("GenuineIntel", 6, 0x8F, 0x8F, "Sapphire Rapids"),
    ("GenuineIntel", 6, 0xCF, 0xCF, "Emerald Rapids"),
    ("GenuineIntel", 6, 0xAD, 0xAE, "Granite Rapids"),
)

# The ISA extensions gankit's kernels (or a later one) can use, as /proc/cpuinfo names them.
_SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_fp16",
               "amx_tile", "amx_bf16")


def _cpuinfo_fields() -> dict:
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
    except OSError:
        pass
    return fields


def microarchitecture(vendor: str, family: int, model: int):
    """The core's name for a vendor, family and model, or None when not in the table."""
    for known_vendor, known_family, first, last, name in _MICROARCHITECTURES:
        if vendor == known_vendor and family == known_family and first <= model <= last:
            return name
    return None


def cpu_identity() -> dict:
    """Model name, vendor, family, model, stepping, core name (where known) and the SIMD
    extensions present, from /proc/cpuinfo (Linux); what platform knows elsewhere. A
    virtual machine's model name is often just the brand ("AMD EPYC"); family and model
    still tell its cores apart."""
    fields = _cpuinfo_fields()
    name = fields.get("model name") or platform.processor() or platform.machine()
    identity = {"model_name": name, "vendor": fields.get("vendor_id")}
    try:
        family, model = int(fields["cpu family"]), int(fields["model"])
    except (KeyError, ValueError):
        return identity
    identity.update(family=family, model=model, stepping=fields.get("stepping"),
                    microarchitecture=microarchitecture(identity["vendor"], family, model),
                    simd=[flag for flag in _SIMD_FLAGS if flag in fields.get("flags", "").split()])
    return identity


def cpu_model() -> str:
    """The CPU as one line: model name, then family/model and the core's name where
    /proc/cpuinfo gives them, e.g. "AMD EPYC (family 25 model 1, Zen 3)"."""
    identity = cpu_identity()
    if "family" not in identity:
        return identity["model_name"]
    detail = f"family {identity['family']} model {identity['model']}"
    if identity["microarchitecture"]:
        detail += f", {identity['microarchitecture']}"
    return f"{identity['model_name']} ({detail})"
