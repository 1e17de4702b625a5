"""Drawing places on the maps: area shapes, longitude/latitude axes and labels that do not collide, all as plain
plotly traces on a local equal-area projection (nothing fetched online)."""
