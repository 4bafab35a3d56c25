"""Services: pipelines and long-running logic built on the core and the adapters."""

__all__: list[str] = []
