"""Data sets the tools, demos and tests use: the digits split and its domain shifts, and
the small real sensor sets shipped with the package (load_sensor)."""
from .sensor_sets import (SENSOR_SETS, load_sensor, sensor_classes, sensor_lengths,
                          sensor_provenance)

__all__ = ["SENSOR_SETS", "load_sensor", "sensor_classes", "sensor_lengths",
           "sensor_provenance"]
