"""hotspots.html: where recorded offences concentrate (Getis-Ord Gi*), and how those places changed by year.

One section per dataset (source + counting unit). Records with coordinates are counted on a 1 km grid in a local
equal-area projection and tested over the study area (cells with a record in some year, plus one ring of
neighbours; see `reports.stats.hotspot_grid`); a source that only gives an area per record is analysed on area
centroids with k-nearest-neighbour weights. Gi* is computed on the square root of the counts, which lets a
consistently busy neighbourhood stand out from one random very busy cell (see `reports.stats.hotspot`).
Gi* on counts finds where most offences are recorded, which mostly follows where people live, work and go out
(on the demo every hot spot group is a town), so each grid section also tests where the Target 16.4 offences
make up more of the records than on the whole map (`reports.stats.hotspot_mix`), and lists apart the places
whose yearly pattern changed (emerging, no longer hot), which otherwise disappear into their town's group.

data.py reads, analysis.py computes, text.py words, figures.py draws, sections.py and render.py assemble the page.
"""

from reports.hotspots.render import render_hotspots

__all__ = ["render_hotspots"]
