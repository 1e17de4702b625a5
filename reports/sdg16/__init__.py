"""sdg16.html: SDG 16 indicators that recorded crime can inform, computed from ICCS codes.

16.1.1 (homicide victims per 100,000) and 16.2.2 (trafficking victims per 100,000) are victim counts: offence
counts are shown apart and labelled, never mixed in. Target 16.4 components are counted, rated, tested for trend
and set against all recorded crime of the same source and unit. 16.4.2 (percent of seized arms traced) is
computed where sources of unit seized_arms and traced_arms cover the same country and year.

data.py reads; series.py shapes the rows into series; text.py and metadata.py word them; victims.py,
target_16_4.py and arms.py build the sections; render.py assembles the page.
"""

from reports.sdg16.render import render_sdg16

__all__ = ["render_sdg16"]
