"""The HTTP service and dashboard (``rareflow serve``): FastAPI app, background runs, page.

Installed with the ``web`` extra (``pip install 'rareflow[web]'``); without it, importing this
package says so."""

from rareflow.errors import require_extra

require_extra("web", "the rareflow dashboard (rareflow.web)")
