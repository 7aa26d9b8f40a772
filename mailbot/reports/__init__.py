"""Renderers of the support report (core.report.Report): table, JSON document, HTML page."""
