"""How benchmark results name the CPU: family and model tell apart the cores a virtual
machine's bare brand string ("AMD EPYC") hides."""
from gankit.bench import _machine


def test_known_cores_are_named():
    assert _machine.microarchitecture("AuthenticAMD", 25, 1) == "Zen 3"      # EPYC 7xx3 (Milan)
    assert _machine.microarchitecture("AuthenticAMD", 25, 0x11) == "Zen 4"   # EPYC 9xx4 (Genoa)
    assert _machine.microarchitecture("AuthenticAMD", 26, 2) == "Zen 5"
    assert _machine.microarchitecture("GenuineIntel", 6, 0x8F) == "Sapphire Rapids"
    assert _machine.microarchitecture("GenuineIntel", 6, 0x55) == "Skylake-SP / Cascade Lake"
    assert _machine.microarchitecture("GenuineIntel", 6, 0x8E) is None       # a laptop core
    assert _machine.microarchitecture("AuthenticAMD", 6, 0x8F) is None       # vendor matters


def test_cpu_model_carries_family_and_model_where_known():
    identity = _machine.cpu_identity()
    line = _machine.cpu_model()
    assert line.startswith(identity["model_name"])
    if "family" in identity:
        assert f"family {identity['family']} model {identity['model']}" in line
        assert set(identity["simd"]) <= set(_machine._SIMD_FLAGS)
        if identity["microarchitecture"]:
            assert line.endswith(f", {identity['microarchitecture']})")
