"""The web dashboard: services, drift, incidents, model versions and reports in a browser.

Server-rendered pages (Jinja2 templates, plotly.js from the installed ``plotly``
package, a little JavaScript that polls each page's JSON twin to refresh it). Run it
with ``steadyml ui`` or mount :func:`create_dashboard` inside another ASGI app.
"""

from steadyml.faces.dashboard.app import create_dashboard
from steadyml.faces.dashboard.config import DashboardConfig

__all__ = ["DashboardConfig", "create_dashboard"]
