#!/usr/bin/env python3
"""Embeds a file as a NUL-terminated C byte array behind an accessor function.

usage: embed.py INPUT OUTPUT FUNCTION
"""
import sys

src, dst, fn = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
rows = []
for i in range(0, len(data), 20):
    rows.append("    " + ", ".join(str(b) for b in data[i:i + 20]) + ",")
with open(dst, "w") as f:
    f.write(f"/* Generated from {src.split('/')[-1]} by embed.py: do not edit. */\n")
    f.write(f"const char *{fn}(void);\n")
    f.write("static const char doc[] = {\n" + "\n".join(rows) + "\n    0};\n")
    f.write(f"const char *{fn}(void)\n{{\n    return doc;\n}}\n")
