"""Interactive front ends of the course, built on ipywidgets (lessons 01 and 02).

Everything here works on ipywidgets 8 and on 7.7 (Colab), and falls back to
static matplotlib figures where there is no widget front end (nbval, GitHub).
"""

from __future__ import annotations
