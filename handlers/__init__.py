"""The Slack surface: one module per command, action or posted message kind."""
