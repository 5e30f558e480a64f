#!/usr/bin/env python3
"""Draw a terminal screen captured with colours (`tmux capture-pane -e -p`) as a PNG with ImageMagick.

Usage: ansi2png.py IN.ansi OUT.png [convert]. Understands the SGR codes tmux emits: reset, bold, dim, reverse,
the 16 colours (30-37, 90-97, 40-47, 100-107), 256 colours (38;5;n / 48;5;n) and true colour (38;2;r;g;b).
"""
import re
import subprocess
import sys

CONVERT = sys.argv[3] if len(sys.argv) > 3 else "convert"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
CW, LH, PT, PAD = 9, 18, 15, 10
FG, BG = "#d0d0d0", "#101010"
# xterm's 16 colours
BASIC = ["#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
         "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff"]


def c256(n):
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        lv = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (lv[n // 36], lv[(n // 6) % 6], lv[n % 6])
    g = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (g, g, g)


def parse(text):
    rows = []
    for line in text.rstrip("\n").split("\n"):
        st = {"fg": None, "bg": None, "bold": False, "rev": False}
        cells = []
        pos = 0
        for m in re.finditer(r"\x1b\[([0-9;:]*)m|\x1b\[[0-9;?]*[A-Za-z]|([^\x1b])", line):
            if m.group(2) is not None:
                cells.append((m.group(2), dict(st)))
                continue
            if m.group(1) is None:
                continue
            codes = [int(c) if c else 0 for c in re.split("[;:]", m.group(1))] or [0]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    st = {"fg": None, "bg": None, "bold": False, "rev": False}
                elif c == 1:
                    st["bold"] = True
                elif c == 22:
                    st["bold"] = False
                elif c == 7:
                    st["rev"] = True
                elif c == 27:
                    st["rev"] = False
                elif 30 <= c <= 37:
                    st["fg"] = BASIC[c - 30]
                elif 90 <= c <= 97:
                    st["fg"] = BASIC[c - 90 + 8]
                elif 40 <= c <= 47:
                    st["bg"] = BASIC[c - 40]
                elif 100 <= c <= 107:
                    st["bg"] = BASIC[c - 100 + 8]
                elif c == 39:
                    st["fg"] = None
                elif c == 49:
                    st["bg"] = None
                elif c in (38, 48) and i + 1 < len(codes):
                    key = "fg" if c == 38 else "bg"
                    if codes[i + 1] == 5 and i + 2 < len(codes):
                        st[key] = c256(codes[i + 2])
                        i += 2
                    elif codes[i + 1] == 2 and i + 4 < len(codes):
                        st[key] = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                        i += 4
                i += 1
        rows.append(cells)
    return rows


def main():
    rows = parse(open(sys.argv[1], encoding="utf-8").read())
    cols = max((len(r) for r in rows), default=1)
    args = [CONVERT, "-size", f"{cols * CW + 2 * PAD}x{len(rows) * LH + 2 * PAD}", f"xc:{BG}",
            "-pointsize", str(PT)]
    texts = []
    for y, cells in enumerate(rows):
        x = 0
        while x < len(cells):
            ch, st = cells[x]
            fg, bg = st["fg"] or FG, st["bg"]
            if st["rev"]:
                fg, bg = (st["bg"] or BG), (st["fg"] or FG)
            end = x
            run = ""
            while end < len(cells) and cells[end][1] == st:
                run += cells[end][0]
                end += 1
            x0, y0 = PAD + x * CW, PAD + y * LH
            if bg:
                args += ["-fill", bg, "-draw", f"rectangle {x0},{y0} {x0 + (end - x) * CW - 1},{y0 + LH - 1}"]
            if run.strip():
                texts.append((x0, y0, fg, st["bold"], run))
            x = end
    for x0, y0, fg, bold, run in texts:
        # DejaVu Sans Mono has no braille: draw those dots ourselves (2 columns x 4 rows per cell, the
        # standard dot numbering) and leave a space in the text
        dots = []
        for k, ch in enumerate(run):
            code = ord(ch) - 0x2800
            if 0 <= code < 256:
                for bit, (dx, dy) in enumerate([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)]):
                    if code >> bit & 1:
                        cx = x0 + k * CW + 2 + dx * 4
                        cy = y0 + 2 + dy * 4
                        dots.append(f"rectangle {cx},{cy} {cx + 1},{cy + 1}")
        if dots:
            args += ["-fill", fg, "-draw", " ".join(dots)]
            run = "".join(" " if 0x2800 <= ord(c) < 0x2900 else c for c in run)
            if not run.strip():
                continue
        # no-break spaces keep the columns (ImageMagick trims ordinary leading spaces)
        t = run.replace("%", "%%").replace("\\", "\\\\").replace(" ", "\u00a0")
        args += ["-font", BOLD if bold else FONT, "-fill", fg, "-annotate", f"+{x0}+{y0 + LH - 5}", t]
    args.append(sys.argv[2])
    subprocess.run(args, check=True)


main()
