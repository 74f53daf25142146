#!/usr/bin/env python3
"""Per theme, page 1 of examples/resume.json (A4) rasterised with `pdftoppm -r 30 -gray`
compared with tests/golden/<theme>.png (mean absolute pixel difference <= 0.5 of 255,
and no more than 0.3% of pixels off by more than 64).  A theme without a reference fails.
Regenerate with tests/golden/update.sh after LOOKING at every new image.
"""
import importlib.util
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

_spec = importlib.util.spec_from_file_location(
    "itc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "it-render-common.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)

RES = "30"
MAD_MAX = 0.5  # renders are deterministic: the same fonts give 0.0; a centred header moved left gives 1.6
BIG_FRAC_MAX = 0.003


def read_png_gray(path):
    """8-bit gray (type 0) or RGB (type 2, pdftoppm -gray -png writes R=G=B), non-interlaced PNG
    -> (w, h, gray bytes); RGB is reduced to its first channel."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    i = 8
    idat = b""
    w = h = None
    while i < len(data):
        n, = struct.unpack(">I", data[i:i + 4])
        tp = data[i + 4:i + 8]
        body = data[i + 8:i + 8 + n]
        if tp == b"IHDR":
            w, h, bd, ct, _, _, il = struct.unpack(">IIBBBBB", body)
            if bd != 8 or ct not in (0, 2) or il != 0:
                raise ValueError("need 8-bit gray non-interlaced, got depth %d type %d" % (bd, ct))
        elif tp == b"IDAT":
            idat += body
        i += 12 + n
    raw = zlib.decompress(idat)
    bpp = 1 if ct == 0 else 3
    stride = w * bpp
    out = bytearray(w * h)
    prev = bytearray(stride)
    pos = 0
    for y in range(h):
        ft = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        out[y * w:(y + 1) * w] = line[::bpp]
        prev = line
    return w, h, bytes(out)


def main():
    C.require_env()
    R = C.Results("it-render-golden")
    tmp = C.mkdtemp("golden")
    gdir = os.path.join(C.SRCROOT, "tests", "golden")
    ex = os.path.join(C.SRCROOT, "examples", "resume.json")
    themes = C.themes()

    def one(t):
        pdf = os.path.join(tmp, t + ".pdf")
        rc, err = C.render(ex, pdf, "--theme", t, "--paper", "a4", "-q", env={"SOURCE_DATE_EPOCH": "0"})
        if rc != 0:
            return t, None, "render rc=%d %s" % (rc, err)
        base = os.path.join(tmp, t)
        C.run(["pdftoppm", "-r", RES, "-gray", "-f", "1", "-l", "1", "-singlefile", pdf, base])
        return t, base + ".pgm", ""

    with ThreadPoolExecutor(2) as exr:
        outs = list(exr.map(one, themes))
    for t, pgm, msg in outs:
        tag = "golden [%s]" % t
        if not R.check("%s: rendered and rasterised" % tag, pgm and os.path.isfile(pgm), msg):
            continue
        ref = os.path.join(gdir, t + ".png")
        if not R.check("%s: reference tests/golden/%s.png exists" % (tag, t), os.path.isfile(ref),
                       "run tests/golden/update.sh, look at the image, commit it"):
            continue
        kind, w, h, px = C.read_pnm(pgm)
        rw, rh, rpx = read_png_gray(ref)
        if not R.check("%s: same size as the reference" % tag, (w, h) == (rw, rh), "%dx%d vs %dx%d" % (w, h, rw, rh)):
            continue
        n = w * h
        tot = 0
        big = 0
        for a, b in zip(px[:n], rpx):
            d = a - b if a > b else b - a
            tot += d
            if d > 64:
                big += 1
        mad = tot / float(n)
        R.check("%s: mean abs difference %.3f <= %.1f" % (tag, mad, MAD_MAX), mad <= MAD_MAX, "MAD=%.3f" % mad)
        R.check("%s: pixels off by > 64: %.2f%% <= %.1f%%" % (tag, 100.0 * big / n, 100 * BIG_FRAC_MAX),
                big / float(n) <= BIG_FRAC_MAX, "%d of %d" % (big, n))
    R.finish()


if __name__ == "__main__":
    main()
