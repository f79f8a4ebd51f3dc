"""``shiptrace doctor``: is everything the bot needs in place? One row per check, ✓ or ✗.

The config; Slack (the bot token, its scopes, Socket Mode or the signing secret); GitHub (the
credentials, the rate limit left, each configured repo); each kubeconfig context (reachable,
allowed to read what the bot reads, the CRDs the configured objects need) and each configured
GitOps object and workload. Independent checks run concurrently, each within a timeout
(:mod:`bot.doctor.run`); the table and JSON are drawn by :mod:`bot.doctor.report` (pure).
"""
