"""The response scorecard: how well an organization talked to its customers during incidents.

`figures.py` computes every figure (per incident, and per period over a window) in a constant
number of queries; `chart.py` draws the trend as server-rendered SVG; `views.py` is the
dashboard page and `api.py` the management API's two read endpoints. A sub-package (the
file-name rule in docs/architecture.md): it reads incidents, updates and postmortems and writes
nothing, so it stands on the incidents floor beside them.
"""
