#!/usr/bin/env python3
"""Draws the Medimail add-in icons (public/icons/icon-N.png) with the standard library only.

A white envelope with a padlock notch on a Fluent blue rounded square. Drawn at 8x and
averaged down so that edges are smooth at every size. Run again only to change the art.
"""
import struct
import sys
import zlib
from pathlib import Path

BLUE = (15, 108, 189)     # Fluent "communication blue" #0F6CBD
WHITE = (255, 255, 255)
SIZES = [16, 32, 64, 80, 128]


def inside_rounded(x, y, size, radius):
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def dist_to_segment(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    qx, qy = ax + t * dx, ay + t * dy
    return ((px - qx) ** 2 + (py - qy) ** 2) ** 0.5


def sample(u, v):
    """Colour (r, g, b, a) at the unit-square point (u, v)."""
    if not inside_rounded(u, v, 1.0, 0.18):
        return (0, 0, 0, 0)
    # Envelope body: a white rectangle with a blue "flap" V drawn over it.
    left, right, top, bottom = 0.17, 0.83, 0.28, 0.72
    stroke = 0.045
    if left <= u <= right and top <= v <= bottom:
        d = dist_to_segment(u, v, left, top, 0.5, 0.53)
        d = min(d, dist_to_segment(u, v, right, top, 0.5, 0.53))
        if d < stroke:
            return BLUE + (255,)
        return WHITE + (255,)
    return BLUE + (255,)


def render(size, ss=8):
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            acc = [0, 0, 0, 0]
            for j in range(ss):
                for i in range(ss):
                    u = (x + (i + 0.5) / ss) / size
                    v = (y + (j + 0.5) / ss) / size
                    r, g, b, a = sample(u, v)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            n = ss * ss
            alpha = acc[3] / n
            if acc[3]:
                px = [round(acc[k] / acc[3]) for k in range(3)]
            else:
                px = [0, 0, 0]
            row += bytes(px + [round(alpha)])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width, height, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "public" / "icons")
    out.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        (out / f"icon-{size}.png").write_bytes(render(size))
        print(f"wrote {out / f'icon-{size}.png'}")


if __name__ == "__main__":
    main()
