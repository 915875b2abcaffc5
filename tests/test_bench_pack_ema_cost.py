"""gankit bench pack_ema_cost: a tiny run prints one row per thread count and variant,
the plain GAN's ratio to itself exactly 1. Nothing here asserts a speed."""
import pytest

from gankit.bench import pack_ema_cost


def test_a_tiny_run_prints_every_variant(capsys):
    assert pack_ema_cost.main(["--rounds", "1", "--seconds", "0.01", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ring = pack_ema_cost.DEFAULTS["ring"]
    assert lines[0].startswith(f"ring networks G {ring['g_hidden']} {ring['g_activation']}, "
                               f"D {ring['d_hidden']} {ring['d_activation']}, batch 256 samples")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[3:]]
    assert [row[:2] for row in rows] == [["1", name] for name in pack_ema_cost.VARIANTS]
    assert rows[0][4] == "1.000" and all(float(row[3]) > 0 for row in rows)
    assert [int(row[2]) for row in rows] == [v["batch"] for v in pack_ema_cost.VARIANTS.values()]
    assert rows[-1][1:3] == ["pack 4, 256 packs", "1024"]


def test_variants_build_the_packed_and_averaged_gans():
    gan = pack_ema_cost.build(pack=4, ema=0.999, recipe=pack_ema_cost.DEFAULTS["ring"])
    assert gan.pack == 4 and gan.D.sizes[0] == 2 * 4 and gan.ema == pytest.approx(0.999)
