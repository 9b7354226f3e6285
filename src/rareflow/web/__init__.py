"""The HTTP service and dashboard (``rareflow serve``): FastAPI app, background runs, page."""
