"""Flat-colour shapes drawn with numpy into 8-bit RGB images (the tutorial samples' pictures).

Coordinates are (row, column), 0-based, with pixel centres at integer coordinates. A pixel takes
the shape's colour when its centre is inside the shape or on its edge; there is no anti-aliasing,
so an image holds exactly two colours, like the originals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Mask: TypeAlias = npt.NDArray[np.bool_]
Color: TypeAlias = tuple[int, int, int]
Point: TypeAlias = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Rectangle:
    """Rows ``top``..``bottom`` and columns ``left``..``right``, both inclusive."""

    top: int
    left: int
    bottom: int
    right: int

    def mask(self, rows: int, columns: int) -> Mask:
        r, c = _grid(rows, columns)
        return (r >= self.top) & (r <= self.bottom) & (c >= self.left) & (c <= self.right)


@dataclass(frozen=True, slots=True)
class Ellipse:
    """Axis-aligned ellipse: ``((r - cr) / rr)^2 + ((c - cc) / rc)^2 <= 1``."""

    center: Point
    radii: Point

    def mask(self, rows: int, columns: int) -> Mask:
        r, c = _grid(rows, columns)
        (cr, cc), (rr, rc) = self.center, self.radii
        return ((r - cr) / rr) ** 2 + ((c - cc) / rc) ** 2 <= 1.0


@dataclass(frozen=True, slots=True)
class Triangle:
    """The triangle with these three vertices (in either winding order)."""

    vertices: tuple[Point, Point, Point]

    def mask(self, rows: int, columns: int) -> Mask:
        r, c = _grid(rows, columns)
        a, b, d = self.vertices
        # Signs of the three edge functions: inside when all agree (zero counts as both).
        sides = [(q[1] - p[1]) * (r - p[0]) - (q[0] - p[0]) * (c - p[1]) for p, q in ((a, b), (b, d), (d, a))]
        inside: Mask = ((sides[0] >= 0) & (sides[1] >= 0) & (sides[2] >= 0)) | (
            (sides[0] <= 0) & (sides[1] <= 0) & (sides[2] <= 0)
        )
        return inside


Shape: TypeAlias = Rectangle | Ellipse | Triangle


def _grid(rows: int, columns: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r, c = np.mgrid[0:rows, 0:columns]
    return r.astype(np.float64), c.astype(np.float64)


def _int(spec: Mapping[str, object], key: str) -> int:
    value = spec.get(key)
    if not isinstance(value, int):
        raise ValueError(f"{key} must be an integer: {spec!r}")
    return value


def _point(value: object) -> Point:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int | float) for v in value)):
        raise ValueError(f"a point is [row, column], not {value!r}")
    return float(value[0]), float(value[1])


def shape_from_json(spec: Mapping[str, object]) -> Shape:
    """The shape a fixture describes: ``{"kind": "rectangle" | "ellipse" | "triangle", ...}``."""
    kind = spec.get("kind")
    if kind == "rectangle":
        return Rectangle(_int(spec, "top"), _int(spec, "left"), _int(spec, "bottom"), _int(spec, "right"))
    if kind == "ellipse":
        return Ellipse(_point(spec["center"]), _point(spec["radii"]))
    if kind == "triangle":
        vertices = spec["vertices"]
        if not (isinstance(vertices, list) and len(vertices) == 3):
            raise ValueError(f"a triangle has three vertices: {spec!r}")
        return Triangle((_point(vertices[0]), _point(vertices[1]), _point(vertices[2])))
    raise ValueError(f"unknown shape kind {kind!r}")


def color_from_json(value: object) -> Color:
    """An ``[r, g, b]`` list of 0..255 integers."""
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in value)):
        raise ValueError(f"a colour is [red, green, blue] with values 0..255, not {value!r}")
    return int(value[0]), int(value[1]), int(value[2])


def draw_rgb(shape: Shape, *, rows: int, columns: int, background: Color, color: Color) -> bytes:
    """``shape`` in ``color`` on ``background``: RGB, 8 bits a sample, colour-by-pixel
    (PlanarConfiguration 0, PS3.3 C.7.6.3.1.3), not padded."""
    image = np.empty((rows, columns, 3), dtype=np.uint8)
    image[...] = background
    image[shape.mask(rows, columns)] = color
    return image.tobytes()
