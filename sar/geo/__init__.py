"""Geometry: WGS84 ellipsoid, orbits (interpolation, design) and range-Doppler geolocation.

Modules: :mod:`~sar.geo.ellipsoid`, :mod:`~sar.geo.orbit`, :mod:`~sar.geo.geolocate`.
"""
