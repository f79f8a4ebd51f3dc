"""shiptrace: where is this change right now?"""

__version__ = "0.1.0"
