"""The platform layer: settings, errors, middleware, the OpenAPI document, probes. It knows no domain package."""
