"""Network pictures for reports: the layout report drawn as SVG (written here, every text escaped) or PNG
(Pillow, whose wheels carry their own FreeType and zlib, so nothing is needed from the system).

Both draw the same scene: ties by strength, members as dots coloured by cluster and sized by degree,
brokers and articulation points ringed; or, for large networks, one bubble per cluster; and a legend.
The drawn shapes are fitted to the drawing square, and the cluster names, the top brokers and the
articulation points are labelled where their boxes overlap nothing (`labels`).
"""

from __future__ import annotations

import io
import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from service.exports.xmltext import xml_attribute, xml_text

# Clusters are ranked largest first (in the whole network); the first len(PALETTE) ranks get their own
# colour, the rest share OTHER, so a cluster keeps its colour whatever the filters show. Twenty colours
# chosen to stay apart for colour-blind viewers: Okabe and Ito's set ("Color Universal Design", 2008;
# black left out, it rings the brokers), then Paul Tol's muted and light sets (personal.sron.nl/~pault,
# "Colour Schemes", technical note SRON/EPS/TN/09-002), ordered so that neighbouring ranks differ in hue
# and lightness. The layout report serves it (`palette`, `clusters.colour`) for the explorer.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442",   # Okabe-Ito
           "#332288", "#ddcc77", "#117733", "#cc6677", "#88ccee", "#882255", "#44aa99",   # Tol muted
           "#999933", "#aa4499",
           "#ee8866", "#77aadd", "#bbcc33", "#ffaabb")                                     # Tol light
OTHER = "#a0a4a8"   # clusters beyond the palette's twenty
BROKER = "#111111"
ARTICULATION = "#d62728"
TIE = "#6b7280"
LEGEND_WIDTH = 300
LEGEND_CLUSTERS = 8


def dot_shrink(members: int) -> float:
    """Smaller dots for crowded pictures, so thousands of members do not hide each other (explorer.js too)."""
    return min(1.0, max(0.35, math.sqrt(400 / members))) if members else 1.0


def cluster_colour(rank: int) -> str:
    """The colour of the cluster of this rank (0 the largest), wherever clusters are drawn or exported."""
    return PALETTE[rank] if 0 <= rank < len(PALETTE) else OTHER


MARGIN = 0.05   # of the side, left around the fitted shapes: room for rings and labels at the edges


@dataclass(frozen=True)
class Frame:
    """Pixels per layout unit for sizes (`scale`), where the scene's positions land (`zoom`, `dx`, `dy`: the
    drawn shapes fitted to the drawing square), and the picture's size (drawing square plus legend)."""

    side: int
    zoom: float = 1.0
    dx: float = 0.0
    dy: float = 0.0

    @classmethod
    def fitted(cls, scene: dict, side: int) -> Frame:
        """The frame whose drawing fills the square: the shapes' bounds scaled to it, centred."""
        bounds = _bounds(scene)
        if bounds is None:
            return cls(side)
        x0, y0, x1, y1 = bounds
        scale, inner = side / 1000.0, side * (1 - 2 * MARGIN)
        span = max(x1 - x0, y1 - y0)
        zoom = inner / (span * scale) if span > 0 else 1.0
        used = scale * zoom
        return cls(side, zoom, (side - (x1 - x0) * used) / 2 - x0 * used, (side - (y1 - y0) * used) / 2 - y0 * used)

    @property
    def scale(self) -> float:
        return self.side / 1000.0

    @property
    def width(self) -> int:
        return self.side + LEGEND_WIDTH

    def point(self, x: float, y: float) -> tuple[float, float]:
        used = self.scale * self.zoom
        return x * used + self.dx, y * used + self.dy

    def radius(self, degree: int, top: int) -> float:
        return self.scale * (2.5 + 9.0 * math.sqrt(degree / top)) if top else self.scale * 3.0

    def tie_width(self, strength: float) -> float:
        return max(0.4, self.scale * (0.3 + 0.35 * min(strength, 10)))


def _bounds(scene: dict) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) of what is drawn, in layout units: member positions, or bubbles' edges."""
    if scene["view"] == "clusters":
        c = scene["clusters"]
        if not c["id"]:
            return None
        return (min(x - r for x, r in zip(c["x"], c["radius"])), min(y - r for y, r in zip(c["y"], c["radius"])),
                max(x + r for x, r in zip(c["x"], c["radius"])), max(y + r for y, r in zip(c["y"], c["radius"])))
    m = scene["members"]
    if not m["id"]:
        return None
    return min(m["x"]), min(m["y"]), max(m["x"]), max(m["y"])


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
    members, ranks = scene["members"], scene["clusters"]["rank"]
    top = max(members["degree"], default=0)
    shrink = dot_shrink(len(members["id"]))
    tied = {*scene["ties"]["source"], *scene["ties"]["target"]}
    dots = []
    for i in range(len(members["id"])):
        x, y = frame.point(members["x"][i], members["y"][i])
        dots.append({"x": x, "y": y, "r": shrink * frame.radius(members["degree"][i], top),
                     "colour": cluster_colour(ranks[members["cluster"][i]]), "cluster": members["cluster"][i],
                     "id": members["id"][i], "name": members["name"][i], "degree": members["degree"][i],
                     "betweenness": members["betweenness"][i], "tied": i in tied,
                     "broker": members["broker"][i], "articulation": members["articulation_point"][i],
                     "focus": members["id"][i] == scene.get("focus")})
    return dots


def _bubbles(scene: dict, frame: Frame) -> list[dict]:
    clusters = scene["clusters"]
    bubbles = []
    for c in range(len(clusters["id"])):
        x, y = frame.point(clusters["x"][c], clusters["y"][c])
        bubbles.append({"x": x, "y": y, "r": max(clusters["radius"][c] * frame.scale * frame.zoom, 2.0),
                        "colour": cluster_colour(clusters["rank"][c]), "id": clusters["id"][c],
                        "members": clusters["members_shown"][c]})
    return bubbles


def _line(a: dict, b: dict, width: float) -> dict:
    return {"x1": a["x"], "y1": a["y"], "x2": b["x"], "y2": b["y"], "w": width}


# --- labels ----------------------------------------------------------------------------------------

CLUSTER_FONT, MEMBER_FONT = 15, 12
LABEL_PAD = 2.0               # pixels kept free between two labels, and between a label and the edge
LABELLED_CLUSTER_MIN = 3      # smaller clusters (a lone member is one) are left to the legend


@dataclass(frozen=True)
class Label:
    """A placed label: its text and box in pixels of the drawing (top-left corner, width, height), what it
    names (`kind`: cluster, broker, articulation-point or isolates; `ref`: the cluster or member id)."""

    text: str
    kind: str
    ref: str | None
    x: float
    y: float
    width: float
    height: float
    size: int
    colour: str

    @property
    def baseline(self) -> float:
        return self.y + 0.95 * self.size

    def overlaps(self, other: Label) -> bool:
        return (self.x < other.x + other.width + LABEL_PAD and other.x < self.x + self.width + LABEL_PAD
                and self.y < other.y + other.height + LABEL_PAD and other.y < self.y + self.height + LABEL_PAD)


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _drawable(text: str, size: int) -> str:
    """The text with the letters Pillow's bundled font lacks (accented ones among them) spelled without
    their accents, so the PNG shows "Garcia" where a missing glyph would draw a box."""
    font = _font(size)
    missing = bytes(font.getmask("\U0010fffd"))
    return "".join(ch if ch.isascii() or bytes(font.getmask(ch)) != missing else
                   "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
                   for ch in text)


def text_width(text: str, size: int) -> float:
    """Width of the text in the PNG's font (Pillow's bundled Aileron), plus an eighth: a browser draws the
    SVG in its own sans-serif (DejaVu Sans runs about a tenth wider), and the same boxes serve both."""
    return 1.12 * _font(size).getlength(text)


def labels(scene: dict, side: int = 1000) -> list[Label]:
    """The labels both pictures draw, placed greedily in order of importance: the names of the larger
    clusters, the block of members with no ties, the top brokers, the articulation points, then the
    smaller clusters. Each tries positions around what it names and takes the first that overlaps no
    placed label, stays inside the drawing and covers the fewest dots; one with no such position is left
    out (the legend and the SVG's tooltips still name everything)."""
    frame = Frame.fitted(scene, side)
    dots = _dots(scene, frame) if scene["view"] == "members" else []
    bubbles = _bubbles(scene, frame) if scene["view"] == "clusters" else []
    placed: list[Label] = []
    circles = np.asarray([(d["x"], d["y"], d["r"]) for d in (*dots, *bubbles)], dtype=float).reshape(-1, 3)
    for text, kind, ref, size, colour, candidates in _wanted(scene, dots, bubbles):
        label = _place(text, kind, ref, size, colour, candidates, placed, circles, side)
        if label is not None:
            placed.append(label)
    return placed


def _wanted(scene: dict, dots: list[dict], bubbles: list[dict]):
    """(text, kind, ref, font size, colour, candidate spots) in order of importance; a spot is a function
    of the label's (width, height) giving its top-left corner."""
    clusters = scene["clusters"]
    areas = _cluster_areas(dots, bubbles, len(clusters["id"]))
    big = [c for c in range(len(clusters["id"]))
           if clusters["members_shown"][c] >= LABELLED_CLUSTER_MIN and areas[c] is not None]
    cluster_rows = [(_clipped(clusters["name"][c], 34), "cluster", clusters["id"][c], CLUSTER_FONT,
                     _darker(cluster_colour(clusters["rank"][c])), _around_area(areas[c])) for c in big]
    lonely = [d for d in dots if not d["tied"]]
    isolates = []
    if len(lonely) > 1:
        words = "no ties yet" if all(d["degree"] == 0 for d in lonely) else "no ties among those shown"
        isolates = [(f"{words}: {len(lonely):,}", "isolates", None, MEMBER_FONT, "#444444",
                     _around_area(_area(lonely)))]
    brokers = sorted((d for d in dots if d["broker"]), key=lambda d: (-d["betweenness"], d["id"]))
    cut = sorted((d for d in dots if d["articulation"] and not d["broker"]), key=lambda d: (-d["degree"], d["id"]))
    people = [(_clipped(d["name"] or d["id"], 28), "broker" if d["broker"] else "articulation-point", d["id"],
               MEMBER_FONT, "#222222", _around_dot(d)) for d in (*brokers, *cut)]
    first = min(len(cluster_rows), LEGEND_CLUSTERS)
    return [*cluster_rows[:first], *isolates, *people, *cluster_rows[first:]]


def _cluster_areas(dots: list[dict], bubbles: list[dict], count: int) -> list[tuple | None]:
    """Per cluster, (left, top, right, bottom, centre x, centre y) of its dots or its bubble, in pixels."""
    if bubbles:
        return [(b["x"] - b["r"], b["y"] - b["r"], b["x"] + b["r"], b["y"] + b["r"], b["x"], b["y"]) for b in bubbles]
    members: list[list[dict]] = [[] for _ in range(count)]
    for d in dots:
        members[d["cluster"]].append(d)
    return [_area(group) if group else None for group in members]


def _area(group: list[dict]) -> tuple:
    return (min(d["x"] - d["r"] for d in group), min(d["y"] - d["r"] for d in group),
            max(d["x"] + d["r"] for d in group), max(d["y"] + d["r"] for d in group),
            sum(d["x"] for d in group) / len(group), sum(d["y"] for d in group) / len(group))


def _around_area(area: tuple):
    """Above the group, below it, on its centre, beside it: a group's name goes at its edge when it can."""
    left, top, right, bottom, cx, cy = area

    def spots(w: float, h: float) -> list[tuple[float, float]]:
        return [(cx - w / 2, top - h - 3), (cx - w / 2, bottom + 3), (cx - w / 2, cy - h / 2),
                (right + 4, cy - h / 2), (left - w - 4, cy - h / 2), (left, top - h - 3), (right - w, top - h - 3),
                (left, bottom + 3), (right - w, bottom + 3)]
    return spots


def _around_dot(dot: dict):
    """Right, left, above, below and the four diagonals of a member's dot, just clear of its ring."""
    x, y, r = dot["x"], dot["y"], dot["r"] + 3

    def spots(w: float, h: float) -> list[tuple[float, float]]:
        return [(x + r, y - h / 2), (x - r - w, y - h / 2), (x - w / 2, y - r - h), (x - w / 2, y + r),
                (x + r * 0.7, y - r * 0.7 - h), (x - r * 0.7 - w, y - r * 0.7 - h),
                (x + r * 0.7, y + r * 0.7), (x - r * 0.7 - w, y + r * 0.7)]
    return spots


def _place(text: str, kind: str, ref: str | None, size: int, colour: str, spots, placed: list[Label],
           circles: np.ndarray, side: int) -> Label | None:
    width, height = text_width(text, size), round(1.25 * size)
    best, covered = None, math.inf
    for x, y in spots(width, height):
        label = Label(text, kind, ref, round(x, 1), round(y, 1), round(width, 1), height, size, colour)
        if not _inside(label, side) or any(label.overlaps(other) for other in placed):
            continue
        count = _dots_under(label, circles)
        if count < covered:
            best, covered = label, count
        if count == 0:
            break
    return best


def _inside(label: Label, side: int) -> bool:
    return (label.x >= LABEL_PAD and label.y >= LABEL_PAD and label.x + label.width <= side - LABEL_PAD
            and label.y + label.height <= side - LABEL_PAD)


def _dots_under(label: Label, circles: np.ndarray) -> int:
    """Dots (or bubbles' centres) the label's box would cover."""
    if circles.size == 0:
        return 0
    x, y, r = circles[:, 0], circles[:, 1], np.minimum(circles[:, 2], 6.0)
    return int(np.count_nonzero((x + r > label.x) & (x - r < label.x + label.width)
                                & (y + r > label.y) & (y - r < label.y + label.height)))


def _darker(colour: str) -> str:
    """The cluster's colour darkened to read as text on white."""
    return "#" + "".join(f"{round(c * 0.55):02x}" for c in _rgb(colour))


def _legend_lines(scene: dict) -> list[tuple[str | None, str]]:
    """(swatch colour or None, text) rows of the legend."""
    clusters = scene["clusters"]
    rows: list[tuple[str | None, str]] = [(None, scene.get("title") or "the network"),
                                          (None, f"as of {scene['as_of']}"),
                                          (None, f"{scene['members_shown']:,} of {plural(scene['members_total'], 'member')}")]
    rows.append((None, "clusters (Leiden), largest first:"))
    for c in range(min(len(clusters["id"]), LEGEND_CLUSTERS)):
        count = plural(clusters["members_shown"][c], "member")
        rows.append((cluster_colour(clusters["rank"][c]), f"{_clipped(clusters['name'][c], 35 - len(count))}: {count}"))
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
    frame = Frame.fitted(scene, side)
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
    out.append(_svg_labels(labels(scene, side)))
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


def _svg_labels(placed: list[Label]) -> str:
    """Each label as <text>, its box in data-box ("x y width height") so that a reader can check them."""
    parts = ['<g class="labels" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">']
    for label in placed:
        ref = f" data-ref={xml_attribute(label.ref)}" if label.ref else ""
        parts.append(f'<text class="label" data-kind="{label.kind}"{ref} '
                     f'data-box="{label.x:g} {label.y:g} {label.width:g} {label.height:g}" x="{label.x:g}" '
                     f'y="{label.baseline:.1f}" font-size="{label.size}" fill="{label.colour}">'
                     f"{xml_text(label.text)}</text>")
    parts.append("</g>")
    return "".join(parts)


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
    lines, dots, bubbles, bubble_ties = _shapes(scene, Frame.fitted(scene, side * k))
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
    for label in labels(scene, side):
        draw.text((label.x * k, label.baseline * k), _drawable(label.text, label.size * k), fill=label.colour,
                  anchor="ls", font=_font(label.size * k), stroke_width=k + 1, stroke_fill="white")
    font = ImageFont.load_default(size=14 * k)
    x0 = (side + 16) * k
    draw.line([(side * k, 0), (side * k, side * k)], fill="#dddddd", width=k)
    for row, (colour, text) in enumerate(_legend_lines(scene)):
        y = (28 + row * 24) * k
        if colour:
            draw.rounded_rectangle([x0, y - 11 * k, x0 + 14 * k, y + 3 * k], radius=3 * k, fill=colour)
        draw.text((x0 + (22 * k if colour else 0), y - 13 * k), _drawable(text, 14 * k), fill="#222222", font=font)
    image = image.resize((frame.width, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _box(shape: dict) -> list[float]:
    return [shape["x"] - shape["r"], shape["y"] - shape["r"], shape["x"] + shape["r"], shape["y"] + shape["r"]]


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
