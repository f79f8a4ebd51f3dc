"""Emulators of GitHub, Kubernetes and Slack, served on 127.0.0.1 for the demo and the tests.

Every GitHub body served is validated against GitHub's OpenAPI description and every custom
resource against its CRD (both under ``reference/``), so the emulators cannot drift from the
real APIs.
"""

from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "reference"
