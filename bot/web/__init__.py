"""The timeline page of a change, served by ``shiptrace serve``, and its signed links."""
