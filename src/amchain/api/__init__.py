"""The REST API (FastAPI): ``create_app(node)``; OpenAPI at ``/openapi.json``, docs at ``/docs``."""

from amchain.api.app import create_app
from amchain.api.problems import PROBLEM_MEDIA_TYPE, ApiProblem
from amchain.api.server import server_config

__all__ = ["PROBLEM_MEDIA_TYPE", "ApiProblem", "create_app", "server_config"]
