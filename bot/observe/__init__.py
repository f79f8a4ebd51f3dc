"""Operating shiptrace: Prometheus metrics, the state of each dependency, logs.

``metrics`` counts (one registry per bot: several bots in one process never share one),
``health`` keeps the last state seen of GitHub and each cluster for ``/readyz``, ``watch``
feeds both from what the clients report, ``logging`` sets up the process's logs (text or
JSON, a request id per Slack request or job run).
"""
