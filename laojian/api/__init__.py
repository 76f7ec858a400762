"""The REST API's shared part: the OpenAPI document (``/api/openapi.json``) assembled from the endpoints."""
