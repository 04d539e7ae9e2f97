"""Grafana: dashboards as code (the official foundation SDK) and the HTTP API sync."""
