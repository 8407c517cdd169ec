"""Renderers for plans and drift: text (terminals), JSON (stable schema) and Markdown (pull requests).

Masking of personal data lives in :mod:`reconciler.report.mask`, used by every renderer, the
logs and the saved plans.
"""
