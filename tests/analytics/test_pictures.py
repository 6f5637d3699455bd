"""The network pictures as a report would use them, on the demo network: labels that name the clusters,
brokers and articulation points without overlapping and inside the drawing, a drawing that fills its
square (filtered ones too), and a palette that tells twenty clusters apart, colour-blind viewers included."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from service.cli import demo, seeding
from service.exports import pictures

SVG = "{http://www.w3.org/2000/svg}"
SIDE = 1000

# Colour-blind views of linear sRGB (Machado, Oliveira and Fernandes 2009, severity 1.0).
DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])
PROTANOPIA = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                       [-0.003882, -0.048116, 1.051998]])


@pytest.fixture
def demo_network(graph):
    network = demo.generate_demo_network(seed=7, members=120)
    seeding.load(graph, network, 7)
    return network


def _linear(colour: str) -> np.ndarray:
    c = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _boxes(svg_bytes: bytes) -> list[dict]:
    root = ET.fromstring(svg_bytes)
    boxes = []
    for text in root.iter(f"{SVG}text"):
        if text.get("class") == "label":
            x, y, w, h = (float(v) for v in text.get("data-box").split())
            boxes.append({"kind": text.get("data-kind"), "ref": text.get("data-ref"), "text": text.text,
                          "x": x, "y": y, "w": w, "h": h, "fill": text.get("fill")})
    return boxes


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def _assert_labels_fit(boxes: list[dict]) -> None:
    for box in boxes:
        assert 0 <= box["x"] and box["x"] + box["w"] <= SIDE and 0 <= box["y"] and box["y"] + box["h"] <= SIDE, box
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), (a, b)


def _circle_cover(svg_bytes: bytes) -> tuple[float, float]:
    """Share of the drawing square's width and height that the member dots span."""
    root = ET.fromstring(svg_bytes)
    circles = [c for c in root.iter(f"{SVG}circle") if "member" in c.get("class", "").split()]
    x = [float(c.get("cx")) for c in circles]
    y = [float(c.get("cy")) for c in circles]
    return (max(x) - min(x)) / SIDE, (max(y) - min(y)) / SIDE


# --- the palette ------------------------------------------------------------------------------------------

def test_palette_has_twenty_distinct_colours_that_neighbouring_ranks_keep_apart_for_colour_blind_eyes():
    assert len(pictures.PALETTE) == 20 and len(set(pictures.PALETTE)) == 20
    assert pictures.OTHER not in pictures.PALETTE
    assert [pictures.cluster_colour(rank) for rank in range(20)] == list(pictures.PALETTE)
    assert pictures.cluster_colour(20) == pictures.cluster_colour(57) == pictures.OTHER
    for view, least in ((np.eye(3), 40), (DEUTERANOPIA, 15), (PROTANOPIA, 15)):
        lab = [_lab(view @ _linear(colour)) for colour in pictures.PALETTE]
        gaps = [float(np.linalg.norm(lab[rank] - lab[rank + 1])) for rank in range(19)]
        assert min(gaps) >= least, gaps      # CIE76 colour difference between ranks r and r + 1


# --- labels placed on a crowded scene ------------------------------------------------------------------------

def _scene(members: int) -> dict:
    """Brokers all at one spot, in one cluster: most of their labels cannot be placed."""
    ids = [f"m{i}" for i in range(members)]
    return {"view": "members", "title": "crowd", "as_of": "2026-01-01", "members_shown": members,
            "members_total": members, "focus": None,
            "members": {"id": ids, "name": [f"Member number {i}" for i in range(members)],
                        "x": [500.0] * members, "y": [500.0] * members, "cluster": [0] * members,
                        "degree": [1] * members, "betweenness": [1.0 / (i + 1) for i in range(members)],
                        "broker": [True] * members, "articulation_point": [False] * members},
            "ties": {"source": list(range(members - 1)), "target": list(range(1, members)),
                     "strength": [1] * (members - 1)},
            "clusters": {"id": ["c0"], "name": ["The crowd"], "rank": [0], "members_shown": [members],
                         "x": [500.0], "y": [500.0], "radius": [1.0]},
            "cluster_ties": {"source": [], "target": [], "ties": []}}


def test_labels_that_find_no_free_spot_are_dropped_lowest_priority_first():
    placed = pictures.labels(_scene(40), SIDE)
    boxes = [{"x": p.x, "y": p.y, "w": p.width, "h": p.height} for p in placed]
    _assert_labels_fit(boxes)
    people = [p.ref for p in placed if p.kind == "broker"]
    assert placed[0].kind == "cluster" and placed[0].text == "The crowd"
    assert 2 <= len(people) < 40
    assert people == [f"m{i}" for i in range(len(people))]    # the highest betweenness kept, in order


# --- the pictures of the demo network ----------------------------------------------------------------------

def test_map_svg_names_clusters_brokers_and_articulation_points_inside_the_drawing(api, demo_network):
    layout = api.get("/v1/analytics/layout").get_json()
    response = api.get("/v1/analytics/map.svg")
    assert response.status_code == 200
    boxes = _boxes(response.data)
    _assert_labels_fit(boxes)
    kinds = {box["kind"] for box in boxes}
    assert {"cluster", "broker", "isolates"} <= kinds
    members = layout["members"]
    brokers = {m for m, b in zip(members["id"], members["broker"]) if b}
    cut = {m for m, a in zip(members["id"], members["articulation_point"]) if a}
    names = dict(zip(members["id"], members["name"]))
    for box in boxes:
        if box["kind"] == "broker":
            assert box["ref"] in brokers and box["text"] == names[box["ref"]]
        if box["kind"] == "articulation-point":
            assert box["ref"] in cut
    clusters = layout["clusters"]
    named = {box["ref"]: box["text"] for box in boxes if box["kind"] == "cluster"}
    largest = clusters["id"][0]
    assert named[largest] == clusters["name"][0] or named[largest].endswith("...")
    isolates = sum(1 for d in members["degree"] if d == 0)
    assert [box["text"] for box in boxes if box["kind"] == "isolates"] == [f"no ties yet: {isolates}"]
    assert max(_circle_cover(response.data)) >= 0.8


def test_map_png_draws_the_labels_and_fills_the_drawing(api, demo_network):
    boxes = _boxes(api.get("/v1/analytics/map.svg").data)
    response = api.get("/v1/analytics/map.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.data)).convert("RGB"), dtype=int)
    assert image.shape == (SIDE, SIDE + pictures.LEGEND_WIDTH, 3)
    for box in boxes:      # the same boxes: text of the label's colour inside each
        inside = image[int(box["y"]):int(box["y"] + box["h"]), int(box["x"]):int(box["x"] + box["w"])]
        ink = np.abs(inside - np.array(pictures._rgb(box["fill"]))).sum(axis=2) < 90
        assert ink.sum() >= 2 * len(box["text"].replace(" ", "")), box
    drawn = (image[:, :SIDE] < 235).any(axis=2)
    rows, columns = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    assert max(np.ptp(rows), np.ptp(columns)) / SIDE >= 0.8


def test_layout_report_serves_the_palette_and_each_clusters_colour(api, demo_network):
    layout = api.get("/v1/analytics/layout").get_json()
    assert layout["palette"] == {"colours": list(pictures.PALETTE), "other": pictures.OTHER}
    clusters = layout["clusters"]
    assert clusters["colour"] == [pictures.cluster_colour(rank) for rank in clusters["rank"]]
    assert len(clusters["id"]) > 1 and clusters["colour"][0] == pictures.PALETTE[0]


def test_a_filtered_map_lays_out_its_members_again_to_fill_the_picture(api, demo_network):
    everyone = api.get("/v1/analytics/layout").get_json()
    region = everyone["regions"][0]
    shown = api.get("/v1/analytics/layout", query_string={"region": region}).get_json()
    # The explorer's filtered layout keeps the whole network's positions ...
    where = dict(zip(everyone["members"]["id"], zip(everyone["members"]["x"], everyone["members"]["y"])))
    assert all(where[m] == (x, y) for m, x, y in zip(*(shown["members"][k] for k in ("id", "x", "y"))))
    # ... and the picture lays the members shown out again, filling its square.
    response = api.get("/v1/analytics/map.svg", query_string={"region": region})
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    circles = [c for c in root.iter(f"{SVG}circle") if "member" in c.get("class", "").split()]
    assert {c.get("data-member-id") for c in circles} == set(shown["members"]["id"])
    assert max(_circle_cover(response.data)) >= 0.8
    _assert_labels_fit(_boxes(response.data))
    assert f"the network: region {region}" in [t.text for t in root.iter(f"{SVG}text")]
