"""adapters sinks."""
