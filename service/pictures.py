"""Network pictures for reports: the layout report drawn as SVG (written here, every text escaped) or PNG
(Pillow, whose wheels carry their own FreeType and zlib, so nothing is needed from the system).

Both draw the same scene: ties by strength, members as dots coloured by cluster and sized by degree,
brokers and articulation points ringed; or, for large networks, one bubble per cluster; and a legend.
The colours are the explorer's (static/explorer.js uses the same palette in the same order).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from service.xmltext import xml_attribute, xml_text

# Clusters are ranked largest first (in the whole network); the first len(PALETTE) ranks get their own
# colour, the rest share OTHER, so a cluster keeps its colour whatever the filters show.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#393b79", "#637939", "#ad494a", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
           "#843c39", "#d6616b", "#8ca252", "#bd9e39")
OTHER = "#a0a4a8"
BROKER = "#111111"
ARTICULATION = "#d62728"
TIE = "#6b7280"
LEGEND_WIDTH = 300
LEGEND_CLUSTERS = 8


def dot_shrink(members: int) -> float:
    """Smaller dots for crowded pictures, so thousands of members do not hide each other (explorer.js too)."""
    return min(1.0, max(0.35, math.sqrt(400 / members))) if members else 1.0


def cluster_colour(index: int) -> str:
    return PALETTE[index] if index < len(PALETTE) else OTHER


@dataclass(frozen=True)
class Frame:
    """Pixels per layout unit, and the picture's size (drawing square plus legend column)."""

    side: int

    @property
    def scale(self) -> float:
        return self.side / 1000.0

    @property
    def width(self) -> int:
        return self.side + LEGEND_WIDTH

    def radius(self, degree: int, top: int) -> float:
        return self.scale * (2.5 + 9.0 * math.sqrt(degree / top)) if top else self.scale * 3.0

    def tie_width(self, strength: float) -> float:
        return max(0.4, self.scale * (0.3 + 0.35 * min(strength, 10)))


def _shapes(scene: dict, frame: Frame) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(ties, members, bubbles, bubble ties) in pixels: what both renderers draw, in drawing order."""
    dots = _dots(scene, frame)
    ties = scene["ties"]
    lines = [_line(dots[a], dots[b], frame.tie_width(w))
             for a, b, w in zip(ties["source"], ties["target"], ties["strength"])]
    bubbles = _bubbles(scene, frame) if scene["view"] == "clusters" else []
    links = scene["cluster_ties"]
    bubble_ties = [_line(bubbles[a], bubbles[b], max(0.5, frame.scale * 1.5 * math.log1p(n)))
                   for a, b, n in zip(links["source"], links["target"], links["ties"])] if bubbles else []
    return lines, dots, bubbles, bubble_ties


def _dots(scene: dict, frame: Frame) -> list[dict]:
    members, ranks, s = scene["members"], scene["clusters"]["rank"], frame.scale
    top = max(members["degree"], default=0)
    shrink = dot_shrink(len(members["id"]))
    return [{"x": members["x"][i] * s, "y": members["y"][i] * s,
             "r": shrink * frame.radius(members["degree"][i], top),
             "colour": cluster_colour(ranks[members["cluster"][i]]),
             "id": members["id"][i], "name": members["name"][i],
             "broker": members["broker"][i], "articulation": members["articulation_point"][i],
             "focus": members["id"][i] == scene.get("focus")} for i in range(len(members["id"]))]


def _bubbles(scene: dict, frame: Frame) -> list[dict]:
    clusters, s = scene["clusters"], frame.scale
    return [{"x": clusters["x"][c] * s, "y": clusters["y"][c] * s, "r": max(clusters["radius"][c] * s, 2.0),
             "colour": cluster_colour(clusters["rank"][c]), "id": clusters["id"][c],
             "members": clusters["members_shown"][c]} for c in range(len(clusters["id"]))]


def _line(a: dict, b: dict, width: float) -> dict:
    return {"x1": a["x"], "y1": a["y"], "x2": b["x"], "y2": b["y"], "w": width}


def _legend_lines(scene: dict) -> list[tuple[str | None, str]]:
    """(swatch colour or None, text) rows of the legend."""
    clusters = scene["clusters"]
    rows: list[tuple[str | None, str]] = [(None, scene.get("title") or "the network"),
                                          (None, f"as of {scene['as_of']}"),
                                          (None, f"{scene['members_shown']:,} of {plural(scene['members_total'], 'member')}")]
    rows.append((None, "clusters (Leiden), largest first:"))
    for c in range(min(len(clusters["id"]), LEGEND_CLUSTERS)):
        rows.append((cluster_colour(clusters["rank"][c]),
                     f"{clusters['name'][c]}: {plural(clusters['members_shown'][c], 'member')}"))
    if len(clusters["id"]) > LEGEND_CLUSTERS:
        rows.append((OTHER, f"... {len(clusters['id']) - LEGEND_CLUSTERS} more clusters"))
    if scene["view"] == "members":
        rows += [(BROKER, "ring: broker (top betweenness)"), (ARTICULATION, "ring: articulation point"),
                 (None, "dot size: degree"), (None, "line width: tie strength")]
    else:
        rows += [(None, "bubble area: members"), (None, "lines: ties between clusters")]
    return [(colour, _clipped(text)) for colour, text in rows if text]


def plural(n: int, noun: str) -> str:
    """ "1 member", "1,200 members"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _clipped(text: str, limit: int = 38) -> str:
    """Legend rows fit the 300 px column (a long member name in a title would run off the picture)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --- SVG -------------------------------------------------------------------------------------------

def svg(scene: dict, side: int = 1000) -> bytes:
    frame = Frame(side)
    lines, dots, bubbles, bubble_ties = _shapes(scene, frame)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{frame.width}" height="{side}" '
           f'viewBox="0 0 {frame.width} {side}" font-family="sans-serif">',
           f"<title>{xml_text('netweave: ' + (scene.get('title') or 'the network'))}</title>",
           f'<rect x="0" y="0" width="{frame.width}" height="{side}" fill="#ffffff"/>',
           f'<g class="ties" stroke="{TIE}" stroke-opacity="0.35" stroke-linecap="round">']
    out += [f'<line x1="{t["x1"]:.1f}" y1="{t["y1"]:.1f}" x2="{t["x2"]:.1f}" y2="{t["y2"]:.1f}" '
            f'stroke-width="{t["w"]:.2f}"/>' for t in (*lines, *bubble_ties)]
    out.append("</g>")
    out += [f'<circle class="cluster" cx="{b["x"]:.1f}" cy="{b["y"]:.1f}" r="{b["r"]:.1f}" fill="{b["colour"]}" '
            f'fill-opacity="0.75" stroke="#ffffff"><title>{xml_text(b["id"])}: {b["members"]} members</title>'
            f"</circle>" for b in bubbles]
    out += [_svg_dot(d) for d in dots]
    out.append(_svg_legend(scene, frame))
    out.append("</svg>")
    return "\n".join(out).encode("utf-8")


def _svg_dot(dot: dict) -> str:
    ring = ARTICULATION if dot["articulation"] else BROKER if dot["broker"] else "#ffffff"
    width = 3.0 if dot["focus"] else 2.0 if (dot["broker"] or dot["articulation"]) else 0.6
    classes = " ".join(["member", *(["broker"] if dot["broker"] else []),
                        *(["articulation-point"] if dot["articulation"] else [])])
    label = dot["name"] or dot["id"]
    return (f'<circle class="{classes}" data-member-id={xml_attribute(dot["id"])} cx="{dot["x"]:.1f}" '
            f'cy="{dot["y"]:.1f}" r="{dot["r"]:.1f}" fill="{dot["colour"]}" stroke="{ring}" '
            f'stroke-width="{width}"><title>{xml_text(label)}</title></circle>')


def _svg_legend(scene: dict, frame: Frame) -> str:
    x0 = frame.side + 16
    parts = [f'<g class="legend" font-size="14" fill="#222222">',
             f'<line x1="{frame.side}" y1="0" x2="{frame.side}" y2="{frame.side}" stroke="#dddddd"/>']
    for row, (colour, text) in enumerate(_legend_lines(scene)):
        y = 28 + row * 24
        if colour:
            parts.append(f'<rect x="{x0}" y="{y - 11}" width="14" height="14" rx="3" fill="{colour}"/>')
        parts.append(f'<text x="{x0 + (22 if colour else 0)}" y="{y}">{xml_text(text)}</text>')
    parts.append("</g>")
    return "".join(parts)


# --- PNG -------------------------------------------------------------------------------------------

_SUPERSAMPLE = 2  # drawn at twice the size and scaled down: Pillow's shapes are not antialiased


def png(scene: dict, side: int = 1000) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    frame, k = Frame(side), _SUPERSAMPLE
    lines, dots, bubbles, bubble_ties = _shapes(scene, Frame(side * k))
    image = Image.new("RGB", (frame.width * k, side * k), "white")
    draw = ImageDraw.Draw(image, "RGBA")
    tie = _rgb(TIE) + (90,)
    for t in (*lines, *bubble_ties):
        draw.line([(t["x1"], t["y1"]), (t["x2"], t["y2"])], fill=tie, width=max(1, round(t["w"])))
    for b in bubbles:
        draw.ellipse(_box(b), fill=_rgb(b["colour"]) + (190,), outline="white", width=k)
    for d in dots:
        ring = ARTICULATION if d["articulation"] else BROKER if d["broker"] else "#ffffff"
        width = 3 if d["focus"] else 2 if (d["broker"] or d["articulation"]) else 1
        draw.ellipse(_box(d), fill=d["colour"], outline=ring, width=width * k)
    font = ImageFont.load_default(size=14 * k)
    x0 = (side + 16) * k
    draw.line([(side * k, 0), (side * k, side * k)], fill="#dddddd", width=k)
    for row, (colour, text) in enumerate(_legend_lines(scene)):
        y = (28 + row * 24) * k
        if colour:
            draw.rounded_rectangle([x0, y - 11 * k, x0 + 14 * k, y + 3 * k], radius=3 * k, fill=colour)
        draw.text((x0 + (22 * k if colour else 0), y - 13 * k), text, fill="#222222", font=font)
    image = image.resize((frame.width, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _box(shape: dict) -> list[float]:
    return [shape["x"] - shape["r"], shape["y"] - shape["r"], shape["x"] + shape["r"], shape["y"] + shape["r"]]


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
