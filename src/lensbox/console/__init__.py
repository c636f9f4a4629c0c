"""The console: a FastAPI app (REST API under /api/v1) that manages models, projects, devices
and deployments, and the device agent that pulls deployments from it. Needs the ``console``
extra; the agent needs ``runtime`` too.
"""
