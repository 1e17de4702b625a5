"""quality.html: what came in, what was loaded, what was set aside and why, and where the data has holes.

Every number a user reads elsewhere rests on this page: records in = loaded + quarantined per source, the
reasons and the unmapped national codes by volume, a periods × areas heat map of coverage (a missing month is a
hole, not a zero), the categories that appear or vanish (a recording change, not a trend), the coverage windows,
the national totals and the contract rules over the loaded tables.

data.py reads; text.py and figures.py word and draw; sections.py, coverage_window.py and totals.py build the
sections; render.py assembles the page. The summary `iccs run` prints words aggregate sources with the same
functions (count_key, cells_text, national_note), so they are exported here.
"""

from reports.quality.data import count_key
from reports.quality.render import render_quality
from reports.quality.text import cells_text, national_note

__all__ = ["cells_text", "count_key", "national_note", "render_quality"]
