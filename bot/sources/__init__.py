"""Clients for the outside systems. Each talks to one API, returns plain data and raises
only the project's own errors (:mod:`bot.errors`)."""
