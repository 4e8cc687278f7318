"""Which way to turn a page for the Gantt chart: the one that prints it larger.

A chart of a few phases is wide and short and reads best across a landscape page; one of
fifty tasks is tall and would shrink to a strip there, so it keeps the portrait page. Both the
PDF and the Word file ask this with their own text areas.
"""

from __future__ import annotations


def landscape_is_larger(width: float, height: float, *, portrait: tuple[float, float],
                        landscape: tuple[float, float]) -> bool:
    """Whether a width x height picture scales larger into the `landscape` room for it than into
    the `portrait` one (each: width, height, in one unit)."""
    def scale(room: tuple[float, float]) -> float:
        return min(room[0] / width, room[1] / height)

    return scale(landscape) > scale(portrait)
