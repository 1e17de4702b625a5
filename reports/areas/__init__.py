"""areas.html: recorded crime by area, as choropleth maps on the areas' boundaries (or ranked dot plots where a
source names none), with the change over the coverage window and Local Moran's I clusters."""

from reports.areas.render import render_areas

__all__ = ["render_areas"]
