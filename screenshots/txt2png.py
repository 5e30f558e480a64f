#!/usr/bin/env python3
"""Draw a captured terminal screen (plain text) as a PNG with ImageMagick: txt2png.py IN.txt OUT.png."""
import subprocess
import sys

CONVERT = sys.argv[3] if len(sys.argv) > 3 else "convert"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
lines = open(sys.argv[1], encoding="utf-8").read().rstrip("\n").split("\n")
cols = max(len(l) for l in lines)
cw, lh = 9, 17
args = [CONVERT, "-size", f"{cols * cw + 20}x{len(lines) * lh + 16}", "xc:#101010",
        "-font", FONT, "-pointsize", "15", "-fill", "#d0d0d0"]
for i, line in enumerate(lines):
    if line.strip():
        # no-break spaces keep the columns (ImageMagick trims ordinary leading spaces)
        text = line.replace("%", "%%").replace("\\", "\\\\").replace(" ", "\u00a0")
        args += ["-annotate", f"+10+{20 + i * lh}", text]
args.append(sys.argv[2])
subprocess.run(args, check=True)
